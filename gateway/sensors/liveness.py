"""Node liveness: notice a node that has gone quiet, once, and its return, once.

Why: a battery node that dies, is stolen or loses its antenna simply stops sending; without
this nothing at the centre would ever say so. Each node has an expected interval (the
registry's ``interval_s`` from enrolment; when the node's STATUS says it runs on a fallback
config, the longer of that and the interval it reports, so a node that fell back to its
slower default raises no false alarm). Silence is judged on the monotonic clock, so a wall
clock jump neither raises nor hides a silent node.

Contract: ``check()`` returns a node the first time it has been silent for
``silent_after_intervals`` of its intervals (and never again until it is heard);
``heard()`` returns the gap when the node had been reported silent. Only frames that passed
the tag and the replay window count as heard: a replayed recording cannot keep a dead node
alive. Nodes in the registry that have not been heard since start are judged from start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.sensors.config import LivenessConfig
from gateway.sensors.keys import NodeEntry


@dataclass(frozen=True, slots=True)
class SilenceChange:
    """A node became silent (``cleared`` False) or was heard again (``cleared`` True)."""

    node_id: int
    name: str | None
    gap_s: float  # time since its last frame (or since start, if never heard)
    interval_s: float
    cleared: bool


@dataclass
class _Node:
    name: str | None = None
    last_seen: float | None = None  # monotonic
    last_seen_wall_ms: int | None = None
    reported_interval_s: float | None = None
    fallback: bool = False
    silent: bool = False
    firmware: str | None = None
    boot_cause: str | None = None
    frames: int = 0


class Liveness:
    """Per-node last-seen bookkeeping and the silence rule. Thread-safe."""

    def __init__(self, cfg: LivenessConfig,
                 registry: Callable[[], dict[int, NodeEntry]] = dict,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self._registry = registry
        self._monotonic = monotonic
        self._started = monotonic()
        self._nodes: dict[int, _Node] = {}
        self._lock = threading.Lock()

    def interval_for(self, node_id: int, entry: NodeEntry | None) -> float:
        """The interval silence is judged against (see the module docstring)."""
        with self._lock:
            return self._interval(self._nodes.get(node_id), entry)

    def _interval(self, node: _Node | None, entry: NodeEntry | None) -> float:
        enrolled = entry.interval_s if entry is not None else None
        reported = node.reported_interval_s if node is not None else None
        if enrolled is None:
            return reported if reported is not None else self.cfg.default_interval_s
        if node is not None and node.fallback and reported is not None:
            return max(enrolled, reported)
        return enrolled

    def heard(self, node_id: int, name: str | None) -> SilenceChange | None:
        """An accepted frame from ``node_id``; returns the recovery if it was silent."""
        now = self._monotonic()
        entry = self._registry().get(node_id)
        with self._lock:
            node = self._nodes.setdefault(node_id, _Node())
            node.name = name or node.name
            node.frames += 1
            change = None
            if node.silent:
                since = node.last_seen if node.last_seen is not None else self._started
                change = SilenceChange(node_id, node.name, now - since,
                                       self._interval(node, entry), cleared=True)
                node.silent = False
            node.last_seen = now
            node.last_seen_wall_ms = time.time_ns() // 1_000_000
            return change

    def status(self, node_id: int, interval_s: float | None, fallback: bool,
               firmware: str | None = None, boot_cause: str | None = None) -> None:
        """What a STATUS frame says about the node's own interval and state."""
        with self._lock:
            node = self._nodes.setdefault(node_id, _Node())
            if interval_s is not None and interval_s > 0:
                node.reported_interval_s = float(interval_s)
            node.fallback = fallback
            node.firmware = firmware or node.firmware
            node.boot_cause = boot_cause or node.boot_cause

    def check(self) -> list[SilenceChange]:
        """Nodes that have just become silent (each reported once per silence)."""
        now = self._monotonic()
        registry = self._registry()
        out = []
        with self._lock:
            for node_id in set(registry) | set(self._nodes):
                node = self._nodes.setdefault(node_id, _Node())
                entry = registry.get(node_id)
                if entry is not None and entry.name:
                    node.name = node.name or entry.name
                if node.silent:
                    continue
                interval = self._interval(node, entry)
                since = node.last_seen if node.last_seen is not None else self._started
                gap = now - since
                if gap > self.cfg.silent_after_intervals * interval:
                    node.silent = True
                    out.append(SilenceChange(node_id, node.name, gap, interval, cleared=False))
        return out

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Per node (by name, else ``node-<id>``): last seen, interval, silent, firmware."""
        now = self._monotonic()
        registry = self._registry()
        out: dict[str, dict[str, object]] = {}
        with self._lock:
            for node_id in sorted(set(registry) | set(self._nodes)):
                node = self._nodes.get(node_id) or _Node()
                entry = registry.get(node_id)
                name = node.name or (entry.name if entry is not None else None)
                out[name or f"node-{node_id}"] = {
                    "id": node_id,
                    "last_seen_s_ago": (round(now - node.last_seen, 1)
                                        if node.last_seen is not None else None),
                    "last_seen_ts": node.last_seen_wall_ms,
                    "interval_s": self._interval(node, entry),
                    "silent": node.silent,
                    "frames": node.frames,
                    "firmware": node.firmware,
                    "boot_cause": node.boot_cause,
                }
        return out
