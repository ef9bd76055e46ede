// RAM the node firmware needs, measured on the real MicroPython VM (WebAssembly, wasm32:
// 4-byte object slots, as on ESP32 and RP2040). Quoted in firmware/README.md ("Limits").
//
// usage: node hil_tests/sim/ram_floor.mjs [WAKES]      (from the repository root; ~1 s)
//
// Why a runner of its own: the WebAssembly port collects garbage only between top-level
// calls into the VM (it cannot scan its own stack), so gc.collect() inside one script frees
// nothing. Each wake therefore runs as its own top-level call: gc.mem_alloc() at the start
// of a call is the live set, and what a wake adds before it returns is everything it
// allocated (an upper bound for its peak: a board's GC would reclaim some of it mid-wake).
// The board is tests/firmware/mp/testboard.py (sensors as data, UART into a list), five
// sensors, UART transport, every wake due to report, the PIR going active and clear.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { copyTree, startVm } from "./vm.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const firmwareDir = path.join(repo, "firmware");
const wakes = parseInt(process.argv[2] || "60", 10);
const mp = await startVm(firmwareDir);
copyTree(mp, firmwareDir, "/fw");
copyTree(mp, path.join(repo, "tests", "firmware", "mp"), "/t");

const run = (src) => mp.runPython(src);
run("import sys\nsys.path.insert(0, '/t')\nsys.path.insert(0, '/fw')\nimport gc, json");
run("base = gc.mem_alloc()");
run("from epnode import app\nfrom testboard import TestBoard");
run("imported = gc.mem_alloc()");
run(`PIR = json.load(open('/fw/board/pins/esp32.json'))['sensors']['pir']['pin']
board = TestBoard('esp32')
board.write_config({'node_id': 17, 'key': '00' * 32, 'report_interval_s': 60,
                    'wake_interval_s': 60,
                    'sensors': ['pir', 'tamper', 'battery', 'temperature', 'water_level']})
board.adc.update({35: 1900, 36: 750, 34: 1200})
lives = []
allocs = []`);
for (let i = 0; i < wakes; i++) {
  // One wake as after deep sleep: boot from the flash config, read, decide, frame, send, save.
  run(`lives.append(gc.mem_alloc())
board.clock += 60
board.digital[PIR] = (${i} // 3) % 2
b = gc.mem_alloc()
app.run(board, max_cycles=1)
allocs.append(gc.mem_alloc() - b)
board.uart.out.clear()`);
}
run(`print(json.dumps({'wakes': len(allocs), 'imported_bytes': imported - base,
                  'live_bytes_max': max(lives) - base, 'live_bytes_last': lives[-1] - base,
                  'wake_alloc_bytes_max': max(allocs),
                  'peak_bytes_upper': max(l + a for l, a in zip(lives, allocs)) - base}))`);
