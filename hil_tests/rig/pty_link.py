"""Resource: a simulated serial link, a pty pair (node end = master, gateway end = slave)."""

from __future__ import annotations

import contextlib
import os
import tty


class PtyLink:
    """A byte link like a UART: the node writes the master, the gateway opens the slave path.

    The rig keeps the slave open too, so the link survives the gateway's restarts (bytes sent
    meanwhile wait in the pty, as in a radio modem's buffer) and noise can be injected.
    """

    def __init__(self, baudrate: int) -> None:
        self.baudrate = baudrate
        self.node_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)  # a byte link: no echo, no CR/LF translation
        tty.setraw(self.node_fd)
        self.gateway_port = os.ttyname(self._slave_fd)

    def inject(self, data: bytes) -> None:
        """Write bytes onto the line as if the node (or noise) sent them."""
        view = memoryview(data)
        while view:
            n = os.write(self.node_fd, view)
            view = view[n:]

    def close(self) -> None:
        for fd in (self.node_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
