"""Two pty pairs bridged back to back: a null-modem cable made of real ttys.

Each side opens its own slave path with pyserial, as it would open /dev/ttyUSB0; a thread
copies bytes between the two masters.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty


class PtyBridge:
    """``a`` and ``b`` are tty paths connected to each other."""

    def __init__(self) -> None:
        self._ma, self._sa = os.openpty()
        self._mb, self._sb = os.openpty()
        for fd in (self._sa, self._sb):
            tty.setraw(fd)
        self.a = os.ttyname(self._sa)
        self.b = os.ttyname(self._sb)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        peers = {self._ma: self._mb, self._mb: self._ma}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(peers), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(peers[fd], data)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self._ma, self._sa, self._mb, self._sb):
            with contextlib.suppress(OSError):
                os.close(fd)
