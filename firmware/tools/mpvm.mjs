// Run a MicroPython script on the real MicroPython VM (WebAssembly build) under Node.js.
//
// usage: node mpvm.mjs [--heap BYTES] [--mount HOSTDIR:VMDIR]... [--uart PATH | --uart-fd N]
//                      [--arg JSON] SCRIPT.py
//
// * firmware/ (this file's parent folder) is always mounted at /fw and put on sys.path,
//   so `import epnode` works as on a board.
// * --uart PATH opens PATH (e.g. a pty slave) for writing, --uart-fd N writes to an
//   inherited descriptor (e.g. a pty master passed by the test); Python code reaches it through
//   the JS module `hostio` (hostio.uart_write(hexstr)). Bytes cross as hex because the
//   VM's bytes -> JS conversion is not guaranteed to be a plain byte array.
// * hostio.arg() returns the --arg JSON string; hostio.now_us() a monotonic clock.
// * Exit status 1 when the script raises (the package's own CLI exits 0 on errors).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const here = path.dirname(fileURLToPath(import.meta.url));
const firmwareDir = path.resolve(here, "..");

let heap = 1024 * 1024;
const mounts = [[firmwareDir, "/fw"]];
let uartPath = null;
let uartFdArg = null;
let argJson = "null";
let script = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--heap") heap = parseInt(argv[++i], 10);
  else if (a === "--mount") {
    const [host, vm] = argv[++i].split(":");
    mounts.push([path.resolve(host), vm]);
  } else if (a === "--uart") uartPath = argv[++i];
  else if (a === "--uart-fd") uartFdArg = parseInt(argv[++i], 10);
  else if (a === "--arg") argJson = argv[++i];
  else script = a;
}
if (!script) {
  process.stderr.write("usage: node mpvm.mjs [--heap N] [--mount H:V] [--uart PATH] [--arg JSON] SCRIPT\n");
  process.exit(2);
}

const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copyTree(hostDir, vmDir) {
  try { mp.FS.mkdir(vmDir); } catch (e) { /* exists */ }
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (ent.name === "node_modules" || ent.name === "typings" || ent.name.startsWith(".")) continue;
    const h = path.join(hostDir, ent.name);
    const v = vmDir + "/" + ent.name;
    if (ent.isDirectory()) copyTree(h, v);
    else if (/\.(py|json)$/.test(ent.name)) mp.FS.writeFile(v, fs.readFileSync(h));
  }
}
for (const [host, vm] of mounts) copyTree(host, vm);

const uartFd = uartPath ? fs.openSync(uartPath, "w") : uartFdArg;
const t0 = process.hrtime.bigint();
mp.registerJsModule("hostio", {
  uart_write: (hex) => {
    if (uartFd === null) throw new Error("no --uart given");
    const buf = Buffer.from(hex, "hex");
    let off = 0;
    while (off < buf.length) off += fs.writeSync(uartFd, buf, off);
    return buf.length;
  },
  arg: () => argJson,
  now_us: () => Number((process.hrtime.bigint() - t0) / 1000n),
});

const vmPaths = mounts.map(([, vm]) => `'${vm}'`).join(", ");
try {
  mp.runPython(`import sys\nfor _p in (${vmPaths},):\n    sys.path.insert(0, _p)\n`);
  mp.runPython(fs.readFileSync(script, "utf8"));
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  process.exitCode = 1;
} finally {
  if (uartPath) fs.closeSync(uartFd);
}
