"""Per-node frame budget: a token bucket per node and lane (alarm frames, everything else).

Why: every authentic, fresh node frame becomes events, and a node's key can be read from its
flash (docs/provisioning.md). One node stuck in a loop, or one stolen and scripted, could send
alarms as fast as the link carries frames: at HIGH priority they would push camera events and
other nodes' alarms out of a full spool and hold the uplink's alarm lane for themselves, and
each frame cost a replay-state write (an fsync on the SD card). The budget caps what one node
can cause; frames within it are untouched. The decoder asks it (gateway/sensors/nodelink.py).

Contract: :meth:`NodeBudget.allow` says whether a node's frame may go on; the first refusal
of an episode is returned as a :class:`FloodChange` (raise one fault), and :meth:`calmed` returns
the episodes whose bucket has filled up again (the node kept under its rate for a whole burst:
clear the fault, with how many frames were dropped). A sustained flood keeps its one fault and
still gets its rate through. Judged on the monotonic clock. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway.sensors.config import NodeBudgetConfig

Lane = Literal["alarms", "others"]


@dataclass(frozen=True, slots=True)
class FloodChange:
    """A node's lane went over its budget (``cleared`` False) or back under it (True)."""

    node_id: int
    name: str | None
    lane: Lane
    per_min: float
    dropped: int  # frames dropped in this episode so far (1 when it starts)
    duration_s: float  # since the first drop
    cleared: bool


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic time of ``tokens``
    name: str | None = None
    flooding_since: float | None = None
    dropped: int = 0


class NodeBudget:
    """Token buckets per (node, lane); see the module doc."""

    def __init__(self, cfg: NodeBudgetConfig, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self._monotonic = monotonic
        self._buckets: dict[tuple[int, Lane], _Bucket] = {}
        self._lock = threading.Lock()

    def _rate_per_s(self, lane: Lane) -> float:
        return (self.cfg.alarms_per_min if lane == "alarms" else self.cfg.others_per_min) / 60.0

    def _refill(self, b: _Bucket, lane: Lane, now: float) -> None:
        b.tokens = min(float(self.cfg.burst), b.tokens + (now - b.at) * self._rate_per_s(lane))
        b.at = now

    def allow(self, node_id: int, name: str | None, lane: Lane) -> tuple[bool, FloodChange | None]:
        """Whether one more event of ``node_id`` in ``lane`` may go out, and the start of a
        flood episode when this is its first refusal."""
        now = self._monotonic()
        with self._lock:
            b = self._buckets.setdefault((node_id, lane), _Bucket(float(self.cfg.burst), now))
            b.name = name or b.name
            self._refill(b, lane, now)
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return True, None
            b.dropped += 1
            if b.flooding_since is not None:
                return False, None
            b.flooding_since = now
            return False, FloodChange(node_id, b.name, lane, self._rate_per_s(lane) * 60, 1, 0.0, False)

    def calmed(self) -> list[FloodChange]:
        """Episodes that ended: the bucket is full again (the node stayed under its rate)."""
        now = self._monotonic()
        out = []
        with self._lock:
            for (node_id, lane), b in self._buckets.items():
                if b.flooding_since is None:
                    continue
                self._refill(b, lane, now)
                if b.tokens >= self.cfg.burst:
                    out.append(FloodChange(node_id, b.name, lane, self._rate_per_s(lane) * 60,
                                           b.dropped, now - b.flooding_since, True))
                    b.flooding_since, b.dropped = None, 0
        return out
