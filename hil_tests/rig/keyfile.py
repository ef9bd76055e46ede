"""Resource: the gateway's node key file (format: gateway/sensors/keys.py docstring).

Provisioning a node on the rig writes its key here; the gateway reloads the file when it
changes. (The provisioning tool of issue 5 is not available yet; this is the same file it
would write.)
"""

from __future__ import annotations

import os
from pathlib import Path


class NodeKeyFile:
    """``[[nodes]]`` entries (id, name, key hex), written atomically with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[int, tuple[str, bytes]] = {}
        self._positions: dict[int, tuple[float, float]] = {}
        self._write()

    def add(self, node_id: int, name: str, key: bytes,
            position: tuple[float, float] | None = None) -> None:
        self._entries[node_id] = (name, key)
        if position is not None:
            self._positions[node_id] = position
        self._write()

    def remove(self, node_id: int) -> None:
        self._entries.pop(node_id, None)
        self._write()

    def _write(self) -> None:
        text = "".join(f'[[nodes]]\nid = {i}\nname = "{n}"\nkey = "{k.hex()}"\n'
                       + ("lat = {}\nlon = {}\n".format(*self._positions[i])
                          if i in self._positions else "") + "\n"
                       for i, (n, k) in sorted(self._entries.items()))
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, self.path)
