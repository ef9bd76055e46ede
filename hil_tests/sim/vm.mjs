// Shared by the rig's VM runners (node_vm.mjs, ram_floor.mjs): start the real MicroPython VM
// (WebAssembly build, installed in firmware/node_modules by scripts/setup.sh) and copy host
// folders into its filesystem.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

// Start the VM; its stdout/stderr lines go to this process's.
export async function startVm(firmwareDir) {
  const pkg = path.join(firmwareDir, "node_modules", "@micropython",
    "micropython-webassembly-pyscript", "micropython.mjs");
  const { loadMicroPython } = await import(pathToFileURL(pkg).href);
  return loadMicroPython({
    heapsize: 1024 * 1024,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
}

// Copy hostDir into the VM at vmDir: the files whose name passes `keep` (default: sources
// and JSON), skipping node_modules, stub folders and dot files.
export function copyTree(mp, hostDir, vmDir, keep = (n) => /\.(py|json)$/.test(n)) {
  try { mp.FS.mkdir(vmDir); } catch (e) { /* exists */ }
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (ent.name === "node_modules" || ent.name === "typings" || ent.name.startsWith(".")) continue;
    const h = path.join(hostDir, ent.name);
    const v = vmDir + "/" + ent.name;
    if (ent.isDirectory()) copyTree(mp, h, v, keep);
    else if (keep(ent.name)) mp.FS.writeFile(v, fs.readFileSync(h));
  }
}
