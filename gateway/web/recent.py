"""The last events the gateway produced, with their crops, kept in memory for the page.

Why in memory and bounded: the spool forgets an event once the broker has it, and the page
only needs "what happened here lately"; a ring of ``maxlen`` events (crops included, each at
most the configured crop size) costs a known, small amount of memory and no disk writes.
Node facts (last seen, battery, link) are taken from the same events as they pass.

Contract: :meth:`RecentEvents.add` is called by the producer for every stored event, from any
thread; readers get plain JSON-ready dicts.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import deque
from enum import Enum
from typing import Any

from gateway.events.envelope import Event

NODE_FACTS = ("battery", "rssi", "snr", "link")  # SenML names the page shows per node


def summary(ev: Event) -> dict[str, Any]:
    """``ev`` as a JSON-ready dict: bytes left out (a crop is fetched by id), enums by name."""
    body: dict[str, Any] = {}
    for f in dataclasses.fields(ev.body):
        value = getattr(ev.body, f.name)
        if value is None or isinstance(value, bytes):
            continue
        body[f.name] = _plain(value)
    return {"id": str(uuid.UUID(bytes=ev.id)), "seq": ev.seq, "ts_ms": ev.ts_ms,
            "type": ev.type.label, "body": body, "has_crop": _crop(ev) is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items() if v is not None}
    return value


def _crop(ev: Event) -> bytes | None:
    crop = getattr(ev.body, "crop", None)
    return crop if isinstance(crop, bytes) and crop else None


class RecentEvents:
    """A thread-safe ring of the last ``maxlen`` events, plus the newest facts per node."""

    def __init__(self, maxlen: int) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self._nodes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, ev: Event) -> None:
        """Keep ``ev`` (the oldest one falls out when full)."""
        with self._lock:
            self._events.append(ev)
            node = getattr(ev.body, "node", None)
            if isinstance(node, str):
                facts = self._nodes.setdefault(node, {})
                facts["last_seen_ms"] = ev.ts_ms
                facts["last_seen_mono"] = time.monotonic()
                for rec in getattr(ev.body, "records", None) or ():
                    if rec.n in NODE_FACTS and rec.v is not None:
                        facts[rec.n] = rec.v

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            items = list(self._events)
        items.reverse()
        return [summary(ev) for ev in items[:limit]]

    def plates(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last plates read (vehicle passages with a plate or its hash), newest first."""
        with self._lock:
            items = [ev for ev in self._events
                     if getattr(ev.body, "plate", None) or getattr(ev.body, "plate_hash", None)]
        items.reverse()
        return [summary(ev) for ev in items[:limit]]

    def crop(self, event_id: str) -> bytes | None:
        """The crop of a kept event, or None (unknown id, fallen out, or no crop)."""
        try:
            raw = uuid.UUID(event_id).bytes
        except ValueError:
            return None
        with self._lock:
            ev = next((e for e in self._events if e.id == raw), None)
        return _crop(ev) if ev is not None else None

    def nodes(self) -> dict[str, dict[str, Any]]:
        """Per node: last seen (wall ms and seconds ago) and its newest battery/link readings."""
        now = time.monotonic()
        with self._lock:
            return {name: {**{k: v for k, v in facts.items() if k != "last_seen_mono"},
                           "last_seen_s_ago": round(now - facts["last_seen_mono"], 1)}
                    for name, facts in sorted(self._nodes.items())}
