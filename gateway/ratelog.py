"""Rate-limited logging: a recurring problem is logged once, then summarised periodically.

A checkpoint that runs for months must not fill its SD card with the same line.
"""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """Logs the first occurrence of each key at once, then at most once per ``interval_s``
    with the number of occurrences suppressed in between."""

    def __init__(self, logger: logging.Logger, interval_s: float = 300.0) -> None:
        self._log = logger
        self._interval = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, key: str, msg: str, *args: object) -> None:
        """Log ``msg`` unless ``key`` was logged within the interval."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += f" ({skipped} more since last report)"
        self._log.log(level, msg, *args)

    def reset(self, key: str) -> None:
        """Forget ``key`` so its next occurrence is logged at once (e.g. after recovery)."""
        with self._lock:
            self._last.pop(key, None)
            self._suppressed.pop(key, None)
