"""Per-node anti-replay sequence window (the scheme of IPsec's RFC 4303 section 3.4.3).

A node's sequence number only grows (it survives deep sleep and power loss on the node).
The gateway accepts a number higher than any seen, or one of the last ``size`` numbers
not seen yet (radio links reorder rarely, but retries happen); everything else is a replay.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class ReplayWindow:
    """Sliding bitmap window per node id. Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        if size < 1:
            raise ValueError("window size must be >= 1")
        self.size = size
        self._top: dict[int, int] = {}
        self._bits: dict[int, int] = {}
        self._lock = threading.Lock()

    def check_and_mark(self, node_id: int, seq: int) -> bool:
        """Return True and remember ``seq`` if it is fresh; False for a replay or stale seq."""
        with self._lock:
            top = self._top.get(node_id)
            if top is None:
                self._top[node_id] = seq
                self._bits[node_id] = 1
                return True
            if seq > top:
                shift = seq - top
                bits = (self._bits[node_id] << shift) | 1 if shift < self.size else 1
                self._bits[node_id] = bits & ((1 << self.size) - 1)
                self._top[node_id] = seq
                return True
            offset = top - seq
            if offset >= self.size:
                return False
            mask = 1 << offset
            if self._bits[node_id] & mask:
                return False
            self._bits[node_id] |= mask
            return True

    def highest(self) -> dict[int, int]:
        """Snapshot of the highest sequence number seen per node."""
        with self._lock:
            return dict(self._top)

    def save(self, path: Path) -> None:
        """Write the highest seq per node atomically, so a restart cannot reopen old seqs."""
        data = {str(k): v for k, v in self.highest().items()}
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        """Restore from :meth:`save`; every seq up to the saved top counts as already seen."""
        data = json.loads(path.read_text())
        with self._lock:
            for k, v in data.items():
                self._top[int(k)] = int(v)
                self._bits[int(k)] = (1 << self.size) - 1
