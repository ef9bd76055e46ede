// A simulated sensor node: the real firmware (firmware/epnode) on the real MicroPython VM,
// running for as long as its "power" is on, with flash that survives power cuts.
//
// usage: node node_vm.mjs --firmware DIR --sim DIR --flash HOSTDIR --uart-fd N
//                         [--baud B] [--inputs FILE] [--cut-file FILE] [--arg JSON] SCRIPT.py
//
// hostio (the JS module the VM script imports):
//   uart_write(hex)  writes to the inherited pty master, paced like a UART at --baud
//                    (10 bits per byte); if --cut-file exists when a frame starts, only half
//                    of the frame goes out and then the process SIGKILLs itself: the power
//                    was cut mid-transmission (the rig's simulated power switch arms it).
//   flash_sync()     copies the VM's /flash to HOSTDIR (atomic per file): the node's flash,
//                    kept across power cycles. Called by the sim board before every write
//                    to the UART, so anything the firmware wrote to flash is "on the chip".
//   inputs()         the JSON text of --inputs (sensor levels the rig sets), or "{}".
//   sleep_ms(ms)     a real blocking sleep (deep sleep, debounce).
//   arg(), now_us()
import fs from "node:fs";
import path from "node:path";
import { copyTree, startVm } from "./vm.mjs";

let firmwareDir = null, simDir = null, flashHost = null, uartFd = null;
let baud = 9600, inputsPath = null, cutPath = null, argJson = "null", script = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--firmware") firmwareDir = path.resolve(argv[++i]);
  else if (a === "--sim") simDir = path.resolve(argv[++i]);
  else if (a === "--flash") flashHost = path.resolve(argv[++i]);
  else if (a === "--uart-fd") uartFd = parseInt(argv[++i], 10);
  else if (a === "--baud") baud = parseInt(argv[++i], 10);
  else if (a === "--inputs") inputsPath = argv[++i];
  else if (a === "--cut-file") cutPath = argv[++i];
  else if (a === "--arg") argJson = argv[++i];
  else script = a;
}
if (!firmwareDir || !simDir || !flashHost || uartFd === null || !script) {
  process.stderr.write("usage: node node_vm.mjs --firmware DIR --sim DIR --flash DIR --uart-fd N SCRIPT\n");
  process.exit(2);
}
const mp = await startVm(firmwareDir);
copyTree(mp, firmwareDir, "/fw");
copyTree(mp, simDir, "/sim");
fs.mkdirSync(flashHost, { recursive: true });
copyTree(mp, flashHost, "/flash", (n) => !n.endsWith(".part"));

function flashSync() {
  const walk = (vmDir, hostDir) => {
    fs.mkdirSync(hostDir, { recursive: true });
    for (const name of mp.FS.readdir(vmDir)) {
      if (name === "." || name === "..") continue;
      const v = vmDir + "/" + name, h = path.join(hostDir, name);
      const st = mp.FS.stat(v);
      if (mp.FS.isDir(st.mode)) { walk(v, h); continue; }
      const data = Buffer.from(mp.FS.readFile(v));
      let same = false;
      try { same = fs.readFileSync(h).equals(data); } catch (e) { /* missing */ }
      if (same) continue;
      const tmp = h + ".part";
      const fd = fs.openSync(tmp, "w");
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, h);
    }
    // files the firmware removed (e.g. a renamed temp) go away on the host too
    const names = new Set(mp.FS.readdir(vmDir));
    for (const name of fs.readdirSync(hostDir)) {
      if (!names.has(name) && !name.endsWith(".part")) fs.rmSync(path.join(hostDir, name), { recursive: true });
    }
  };
  walk("/flash", flashHost);
  return true;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms) { if (ms > 0) Atomics.wait(sleeper, 0, 0, ms); }
const byteMs = 10000 / baud;  // 10 bits per byte (8N1)

function writeAll(buf) {
  // Paced in chunks of ~5 ms of line time, so the pty sees bytes arrive like a UART.
  const chunk = Math.max(1, Math.floor(5 / byteMs));
  for (let off = 0; off < buf.length;) {
    const part = buf.subarray(off, Math.min(buf.length, off + chunk));
    let done = 0;
    while (done < part.length) done += fs.writeSync(uartFd, part, done);
    off += part.length;
    sleepMs(part.length * byteMs);
  }
}

const t0 = process.hrtime.bigint();
mp.registerJsModule("hostio", {
  uart_write: (hex) => {
    const buf = Buffer.from(hex, "hex");
    let armed = false;
    if (cutPath && fs.existsSync(cutPath)) {
      // file content: empty = cut the next frame; a number = cut the next frame of that type
      const want = fs.readFileSync(cutPath, "utf8").trim();
      armed = want === "" || (buf.length > 2 && (buf[2] & 0x0f) === parseInt(want, 10));
    }
    if (armed) {
      const half = Math.max(1, Math.floor(buf.length / 2));
      writeAll(buf.subarray(0, half));
      process.stdout.write(`POWER CUT after ${half}/${buf.length} bytes\n`);
      process.kill(process.pid, "SIGKILL");
    }
    writeAll(buf);
    return buf.length;
  },
  flash_sync: flashSync,
  inputs: () => {
    if (!inputsPath) return "{}";
    try { return fs.readFileSync(inputsPath, "utf8"); } catch (e) { return "{}"; }
  },
  sleep_ms: (ms) => { sleepMs(ms); return true; },
  arg: () => argJson,
  now_us: () => Number((process.hrtime.bigint() - t0) / 1000n),
});

try {
  mp.runPython("import sys\nsys.path.insert(0, '/fw')\nsys.path.insert(0, '/sim')\n");
  mp.runPython(fs.readFileSync(script, "utf8"));
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  process.exitCode = 1;
}
