"""Thread-safe named counters for health reporting (garbage, rejections, reopen...)."""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """A ``Counter`` guarded by a lock; ``snapshot()`` is what health reports publish."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``."""
        with self._lock:
            self._c[name] += n

    def get(self, name: str) -> int:
        """Current value of ``name`` (0 if never counted)."""
        with self._lock:
            return self._c[name]

    def snapshot(self) -> dict[str, int]:
        """A copy of all counters."""
        with self._lock:
            return dict(self._c)
