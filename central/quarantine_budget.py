"""How many of one device's bad messages the archive keeps: a token bucket per device.

Why: every quarantined message is a row (up to 1 KiB of its head kept for inspection), and a
device that sends garbage as fast as it can (a broken firmware loop, a stolen credential)
would otherwise grow the archive without bound and slow every query and scrape that counts
it: one device must not hurt the district. Past its budget a device's bad messages are still
consumed, counted by reason, and visible in health and ``/metrics``; only their rows are not
written. A device sending nothing bad never notices.
"""

from __future__ import annotations

from collections import OrderedDict

UNKNOWN_DEVICE = "?"  # messages whose topic names no valid device share one budget
MAX_TRACKED = 10_000  # devices remembered; the least recently seen is forgotten beyond that


class QuarantineBudget:
    """``per_minute`` rows per device, refilled continuously, with a burst of the same size."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # device -> (tokens, at)

    def allow(self, device: str | None, now: float) -> bool:
        """Whether one more quarantined message of ``device`` may be stored at ``now`` (s)."""
        key = device or UNKNOWN_DEVICE
        tokens, at = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * self.per_minute / 60.0)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)  # most recent last
        if len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed
