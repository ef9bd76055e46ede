"""Subscriber-side helpers: de-duplication by event id and sequence-gap detection per device.

QoS 1 delivers at least once, and a gateway replays unacknowledged events after a restart,
so a subscriber sees duplicates by design; these two classes turn that into exactly-once
processing and tell the operator when events were lost (e.g. by a spool overflow), without
calling a late arrival a loss.
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
    """Tracks which sequence numbers of each device have not arrived yet.

    Why not "a jump is a loss": a gateway sends alarms ahead of a backlog of readings (by
    priority lane), so numbers arrive out of order by design. A number not yet seen is an
    *open* gap, closed when it arrives. It becomes a *loss* only when the device says it
    has nothing older waiting: its health report's ``spool.oldest_seq`` (or an empty
    spool) — every number below that was delivered to the broker or counted as dropped.
    """

    MAX_OPEN = 10_000  # open ranges kept per device; beyond that the oldest ones are merged

    def __init__(self) -> None:
        self._high: dict[str, int] = {}
        self._low: dict[str, int] = {}
        self._open: dict[str, list[list[int]]] = {}  # device -> sorted [first, last] ranges

    def observe(self, device: str, seq: int) -> None:
        """Record ``seq`` from ``device`` (opening a range if it jumps, closing one if late)."""
        high = self._high.get(device)
        if high is None:
            self._low[device] = seq
        if high is None or seq > high:
            self._high[device] = seq
            if high is not None and seq > high + 1:
                ranges = self._open.setdefault(device, [])
                ranges.append([high + 1, seq - 1])
                if len(ranges) > self.MAX_OPEN:
                    ranges[0:2] = [[ranges[0][0], ranges[1][1]]]
            return
        low = self._low.get(device, seq)
        if seq < low:
            # Earlier than anything seen so far (it was sent late, or this subscriber joined
            # mid-stream): what lies between is open too. Below the lowest, nothing is known.
            self._low[device] = seq
            if seq < low - 1:
                self._open.setdefault(device, []).insert(0, [seq + 1, low - 1])
            return
        ranges = self._open.get(device)
        if not ranges:
            return
        for i, (first, last) in enumerate(ranges):
            if first <= seq <= last:
                pieces = [r for r in ([first, seq - 1], [seq + 1, last]) if r[0] <= r[1]]
                ranges[i:i + 1] = pieces
                return
            if first > seq:
                return

    def open_gaps(self, device: str) -> list[Gap]:
        """Numbers of ``device`` not seen yet (they may still arrive)."""
        return [Gap(device, a, b) for a, b in self._open.get(device, [])]

    def settle(self, device: str, oldest_waiting: int | None) -> list[Gap]:
        """The device reports that nothing below ``oldest_waiting`` is still to come (None:
        nothing at all waits): return the open numbers below it as lost, and forget them."""
        ranges = self._open.get(device)
        if not ranges:
            return []
        bound = oldest_waiting if oldest_waiting is not None else self._high.get(device, 0) + 1
        lost: list[Gap] = []
        keep: list[list[int]] = []
        for first, last in ranges:
            if last < bound:
                lost.append(Gap(device, first, last))
            elif first < bound:
                lost.append(Gap(device, first, bound - 1))
                keep.append([bound, last])
            else:
                keep.append([first, last])
        self._open[device] = keep
        return lost
