"""A simulated MicroPython board on a pty: the real MicroPython VM behind a serial device.

``SimulatedBoard().start().port`` is a path like ``/dev/pts/7`` that behaves like a board's
USB serial port: friendly REPL, raw REPL (the protocol mpremote and
:mod:`provisioning.raw_repl` speak), soft reset, and files that persist while it runs.
The VM runs in one Node.js process (``mpboard.mjs``); this module pumps bytes between the
pty and that process. Run ``python -m provisioning.sim.board`` to get one for manual use.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import shutil
import subprocess
import threading
import tty
from importlib.resources import files
from pathlib import Path
from types import TracebackType

MJS = Path(str(files("provisioning.sim") / "mpboard.mjs"))
# The VM's npm package ships with the firmware as package data (see provisioning/firmware_build.py).
PACKAGE = (Path(str(files("provisioning") / "_firmware")) / "node_modules" / "@micropython"
           / "micropython-webassembly-pyscript")


class SimulatorUnavailableError(RuntimeError):
    """Node.js or the MicroPython VM package is missing."""


class SimulatedBoard:
    """The VM behind a pty. Stopped by PID; ``flash_bytes`` limits the simulated flash."""

    def __init__(self, flash_bytes: int = 0, heap_bytes: int = 2 * 1024 * 1024) -> None:
        node = shutil.which("node")
        if node is None or not (PACKAGE / "micropython.mjs").is_file():
            raise SimulatorUnavailableError("the MicroPython VM needs nodejs and `npm install` in firmware/ "
                                       "(scripts/setup.sh does both)")
        self._cmd = [node, str(MJS), "--package", str(PACKAGE), "--heap", str(heap_bytes)]
        if flash_bytes:
            self._cmd += ["--flash-bytes", str(flash_bytes)]
        self.proc: subprocess.Popen[bytes] | None = None
        self._master = self._slave = -1
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.port = ""

    def start(self) -> SimulatedBoard:
        self._master, self._slave = os.openpty()
        # Raw line discipline: bytes pass untouched (no echo, no CR/LF mapping), as on a UART.
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.proc = subprocess.Popen(self._cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self._threads = [threading.Thread(target=self._to_vm, daemon=True, name="sim-to-vm"),
                         threading.Thread(target=self._from_vm, daemon=True, name="sim-from-vm")]
        for t in self._threads:
            t.start()
        return self

    def _to_vm(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        while not self._stop.is_set():
            r, _, _ = select.select([self._master], [], [], 0.1)
            if not r:
                continue
            try:
                data = os.read(self._master, 4096)
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except OSError:
                return

    def _from_vm(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        assert isinstance(out, io.BufferedReader)
        while not self._stop.is_set():
            data = out.read1(4096)
            if not data:
                return
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._master, view):]
            except OSError:
                return

    def stop(self) -> None:
        """Stop the VM by PID and close the pty."""
        self._stop.set()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for t in self._threads:
                t.join(2)
            for f in (self.proc.stdin, self.proc.stdout):
                if f:
                    # Closing stdin flushes what the dead VM will never read: not an error.
                    with contextlib.suppress(OSError):
                        f.close()
            self.proc = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> SimulatedBoard:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main() -> None:
    """Run a simulated board until Ctrl-C and print its port."""
    import time

    with SimulatedBoard() as board:
        print(f"simulated MicroPython board on {board.port} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
