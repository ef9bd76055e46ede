"""Subscriber-side helpers: de-duplication by event id and sequence-gap detection per device.

QoS 1 delivers at least once, and a gateway replays unacknowledged events after a restart,
so a subscriber sees duplicates by design; these two classes turn that into exactly-once
processing and tell the operator when events were lost (e.g. by a spool overflow).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


class Deduplicator:
    """Remembers the last ``capacity`` event ids; ``seen(id)`` is True for a repeat."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity
        self.duplicates = 0

    def seen(self, event_id: bytes) -> bool:
        """Record ``event_id``; return True if it was already seen (a duplicate)."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            self.duplicates += 1
            return True
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return False


@dataclass(frozen=True, slots=True)
class Gap:
    """Sequence numbers ``first``..``last`` of ``device`` never arrived (so far)."""

    device: str
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


class SequenceTracker:
    """Tracks the highest sequence number per device and reports jumps as gaps."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def observe(self, device: str, seq: int) -> Gap | None:
        """Record ``seq`` from ``device``; return the gap it reveals, if any."""
        last = self._last.get(device)
        if last is None or seq > last:
            self._last[device] = seq
        if last is not None and seq > last + 1:
            return Gap(device, last + 1, seq - 1)
        return None
