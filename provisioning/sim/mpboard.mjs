// A simulated MicroPython board: the real MicroPython VM (WebAssembly build) with its own
// REPL, driven byte by byte from stdin, answering on stdout -- what a USB serial port of a
// real board carries. provisioning/sim/board.py puts a pty in front of it.
//
// usage: node mpboard.mjs --package DIR [--heap BYTES] [--flash-bytes N]
//
// The VM's own REPL (replProcessChar) implements the friendly and raw REPL exactly as on a
// board (Ctrl-A raw mode, Ctrl-D execute, "OK" + stdout + \x04 + stderr + \x04 + ">").
// This file adds only what the wasm port cannot do on its own:
// * raw-paste mode (Ctrl-E A Ctrl-A) is refused with "R\x00", as boards without it do, so
//   clients fall back to plain raw mode (the wasm REPL would otherwise block reading stdin);
// * soft reset (Ctrl-D on an empty line) prints "MPY: soft reboot" and re-enters the mode it
//   was in; imported modules are forgotten, files stay (they are the board's flash);
// * --flash-bytes N makes writes beyond N bytes of files fail with OSError 28 (ENOSPC on
//   MicroPython's littlefs/FAT ports), to test "flash full".
import path from "node:path";
import { pathToFileURL } from "node:url";

let pkg = null;
let heap = 2 * 1024 * 1024;
let flashBytes = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--package") pkg = argv[++i];
  else if (argv[i] === "--heap") heap = parseInt(argv[++i], 10);
  else if (argv[i] === "--flash-bytes") flashBytes = parseInt(argv[++i], 10);
}
if (!pkg) {
  process.stderr.write("usage: node mpboard.mjs --package DIR [--heap N] [--flash-bytes N]\n");
  process.exit(2);
}
const { loadMicroPython } = await import(pathToFileURL(path.join(pkg, "micropython.mjs")).href);

let mute = false;
const emit = (data) => {
  if (mute) return;
  process.stdout.write(typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data));
};
const mp = await loadMicroPython({ heapsize: heap, linebuffer: false, stdout: emit, stderr: emit });
const FS = mp.FS;

// Files outside these folders are the simulated flash.
const NOT_FLASH = new Set(["tmp", "dev", "proc", "home"]);
function flashUsed(dir = "/") {
  let total = 0;
  for (const name of FS.readdir(dir)) {
    if (name === "." || name === ".." || (dir === "/" && NOT_FLASH.has(name))) continue;
    const p = dir === "/" ? "/" + name : dir + "/" + name;
    const st = FS.stat(p);
    total += FS.isDir(st.mode) ? flashUsed(p) : st.size;
  }
  return total;
}
if (flashBytes > 0) {
  const origWrite = FS.write;
  FS.write = function (stream, buffer, offset, length, position, canOwn) {
    const top = (stream.path || "").split("/")[1];
    if (!NOT_FLASH.has(top) && flashUsed() + length > flashBytes) throw new FS.ErrnoError(28);
    return origWrite.call(this, stream, buffer, offset, length, position, canOwn);
  };
}

const FORCED_EXIT = 0x100;
let raw = false;
let fresh = true; // at the start of a raw-mode command (where Ctrl-E may ask for raw paste)
let pending = []; // bytes held back while deciding whether they are a raw-paste request

function softReset() {
  emit("MPY: soft reboot\r\n");
  mute = true;
  try {
    mp.runPython("import sys\nfor _k in [k for k in sys.modules]:\n    del sys.modules[_k]\n");
  } catch (e) { /* nothing to forget */ }
  mp.replInit();
  if (raw) mp.replProcessChar(0x01);
  mute = false;
  emit(raw ? "raw REPL; CTRL-B to exit\r\n>" : "MicroPython (simulated board) soft reset\r\n>>> ");
  fresh = true;
}

function feed(c) {
  if (c === 0x01) raw = true;
  else if (c === 0x02) raw = false;
  const ret = mp.replProcessChar(c);
  if (raw) fresh = c === 0x04 || c === 0x01;
  if (ret & FORCED_EXIT) softReset();
}

function onByte(c) {
  if (pending.length) {
    pending.push(c);
    if (pending.length < 3) return;
    const p = pending;
    pending = [];
    if (p[1] === 0x41 && p[2] === 0x01) {
      emit("R\x00"); // raw paste not supported: the client sends plain raw mode instead
      return;
    }
    for (const b of p) feed(b);
    return;
  }
  if (raw && fresh && c === 0x05) {
    pending = [c];
    return;
  }
  feed(c);
}

mp.replInit();
process.stdin.on("data", (chunk) => {
  for (const c of chunk) onByte(c);
});
process.stdin.on("end", () => process.exit(0));
