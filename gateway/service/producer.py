"""Turns event bodies into spooled, sequence-numbered, encoded events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from gateway.events.bodies import Body, body_priority
from gateway.events.codec import Format, encode
from gateway.events.envelope import Event, Location
from gateway.events.topics import Topics
from gateway.events.types import ClockSource
from gateway.ratelog import RateLimitedLog
from gateway.service.health import Counters
from gateway.uplink.spool import Draft, Spool, SpoolError

log = logging.getLogger(__name__)


class EventProducer:
    """The one way components emit events: durable in the spool before ``emit`` returns."""

    def __init__(self, spool: Spool, topics: Topics, fmt: Format, counters: Counters,
                 location: Callable[[], Location | None] = lambda: None,
                 on_stored: Callable[[], None] = lambda: None,
                 timestamp: Callable[[], tuple[int, ClockSource | None]] | None = None,
                 observer: Callable[[Event], None] | None = None) -> None:
        self._spool = spool
        self._topics = topics
        self._fmt = fmt
        self._counters = counters
        self._location = location
        self._on_stored = on_stored
        # (ms, clock source) for events emitted without a time (gateway/service/clock.py);
        # None: the system clock, taken as synchronized.
        self._timestamp = timestamp
        # Sees every stored event (the gateway page's ring of recent events); None: nobody.
        self._observer = observer
        self._ratelog = RateLimitedLog(log)

    def emit(self, body: Body, *, ts_ms: int | None = None, loc: Location | None = None,
             clock: ClockSource | None = None) -> Event | None:
        """Store one event; return it with its sequence number, or None if it was not stored."""
        return self.emit_many([body], ts_ms=ts_ms, loc=loc, clock=clock)[0]

    def emit_many(self, bodies: Sequence[Body], *, ts_ms: int | None = None,
                  loc: Location | None = None, clock: ClockSource | None = None
                  ) -> list[Event | None]:
        """Store several events in one transaction (one disk sync). Without ``ts_ms`` the
        events are stamped now by the trusted clock, which also gives their ``clock``."""
        where = loc if loc is not None else self._location()
        if ts_ms is None and self._timestamp is not None:
            ts_ms, clock = self._timestamp()
        events = [Event.new(b, loc=where, ts_ms=ts_ms, clock=clock) for b in bodies]
        done: dict[int, Event] = {}

        def builder(i: int) -> Callable[[int], Draft]:
            def build(seq: int) -> Draft:
                ev = events[i].with_seq(seq)
                done[i] = ev
                # No created_ms: the spool stamps its own (jump-aware) store time, so a GPS or
                # free-running event clock cannot make it expire events early or late.
                return Draft(self._topics.event(ev.type), encode(ev, self._fmt),
                             self._fmt.content_type, body_priority(ev.body))
            return build

        try:
            seqs = self._spool.append_many([builder(i) for i in range(len(events))])
        except SpoolError as exc:
            self._counters.inc("spool.write_errors", len(events))
            self._ratelog.log(logging.ERROR, "write", "event(s) not stored: %s", exc)
            return [None] * len(events)
        self._on_stored()
        stored = [done[i] if seq is not None else None for i, seq in enumerate(seqs)]
        self._observe([ev for ev in stored if ev is not None])
        return stored

    def _observe(self, events: list[Event]) -> None:
        if self._observer is None:
            return
        for ev in events:
            try:
                self._observer(ev)
            except Exception as exc:  # a page's bookkeeping must never cost an event its producer
                self._ratelog.log(logging.ERROR, "observer", "event observer failed: %s", exc)

    def emit_from_memory(self, body: Body) -> Event:
        """Number an event and keep it in memory only, for faults about the disk itself
        (a full disk cannot store the event that says the disk is full)."""
        ts_ms, clock = self._timestamp() if self._timestamp is not None else (None, None)
        ev = Event.new(body, loc=self._location(), ts_ms=ts_ms, clock=clock)
        done: list[Event] = []

        def build(seq: int) -> Draft:
            done.append(ev.with_seq(seq))
            return Draft(self._topics.event(ev.type), encode(done[0], self._fmt),
                         self._fmt.content_type, body_priority(body))

        self._spool.append_memory(build)
        self._on_stored()
        self._observe(done)
        return done[0]
