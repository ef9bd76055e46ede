"""Driver: a central subscriber on the rig's broker, with assertions (``events.expect``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from gateway.events import body_priority
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions


class _CountingSubscriber(EventSubscriber):
    """Counts event deliveries that de-duplication dropped (redeliveries by event id)."""

    duplicates = 0

    def classify(self, topic: str, payload: bytes, props: Any = None) -> Received | None:
        got = super().classify(topic, payload, props)
        if got is None:
            self.duplicates += 1
        return got


class EventsProbe:
    """Everything the gateway publishes, as a subscriber sees it.

    A persistent session (fixed client id, session expiry) keeps queued events across a
    broker restart, so an outage does not make the *probe* lose anything.
    """

    def __init__(self, host: str, port: int, device: str) -> None:
        self.device = device
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.sub = _CountingSubscriber(SubscriberOptions(
            host=host, port=port, device=device, include_status=True,
            client_id=f"hil-probe-{uuid.uuid4().hex[:8]}", session_expiry_s=3600), self._on)

    def _on(self, msg: Received) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def start(self, timeout: float = 10.0) -> EventsProbe:
        self.sub.start()
        if not self.sub.connected.wait(timeout):
            raise AssertionError("events probe could not connect to the broker")
        return self

    def stop(self) -> None:
        self.sub.stop()

    def close(self) -> None:
        self.stop()

    # -- views ----------------------------------------------------------------------------
    def events(self, type: str | None = None) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.kind == "event"
                    and (type is None or m.event.type.label == type)]  # type: ignore[union-attr]

    def documents(self, kind: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m.document for m in self.messages if m.kind == kind]

    @property
    def duplicates(self) -> int:
        return self.sub.duplicates

    @property
    def bad(self) -> int:
        return self.sub.bad

    def mark(self) -> int:
        """Index to pass as ``since`` so later expects ignore what came before."""
        with self._cond:
            return len(self.messages)

    # -- waiting and assertions -----------------------------------------------------------
    def wait_for(self, predicate: Callable[[EventsProbe], bool], within: float,
                 what: str = "condition") -> None:
        deadline = time.monotonic() + within
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what}: not met within {within:.1f} s "
                                         f"({len(self.events())} events received)")
                self._cond.wait(min(left, 0.2))

    def expect(self, type: str, within: float, since: int = 0,
               where: Callable[[Any], bool] | None = None, **fields: Any) -> Received:
        """Wait for an event of ``type`` whose body has ``fields`` (and passes ``where``)."""
        def match(m: Received) -> bool:
            if m.kind != "event" or m.event.type.label != type:  # type: ignore[union-attr]
                return False
            body = m.event.body  # type: ignore[union-attr]
            if any(getattr(body, k, None) != v for k, v in fields.items()):
                return False
            return where is None or bool(where(body))

        found: list[Received] = []

        def pred(p: EventsProbe) -> bool:
            found[:] = [m for m in p.messages[since:] if match(m)]
            return bool(found)

        desc = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        self.wait_for(pred, within, f"event {type}({desc})")
        return found[0]

    def expect_health(self, where: Callable[[dict[str, Any]], bool], within: float,
                      what: str = "health", since: int = 0) -> dict[str, Any]:
        """Wait for a health document satisfying ``where``; return it."""
        found: list[dict[str, Any]] = []

        def pred(p: EventsProbe) -> bool:
            for m in p.messages[since:]:
                if m.kind == "health":
                    try:
                        ok = where(m.document)
                    except (KeyError, TypeError, AttributeError):
                        ok = False
                    if ok:
                        found.append(m.document)
                        return True
            return False

        try:
            self.wait_for(pred, within, what)
        except AssertionError as exc:
            last = self.documents("health")[-1:] or [None]
            raise AssertionError(f"{exc}; last health: {last[0]}") from None
        return found[0]

    def latest_health(self) -> dict[str, Any]:
        docs = self.documents("health")
        return docs[-1] if docs else {}

    def assert_complete_and_ordered(self) -> list[int]:
        """Gateway sequence numbers: no gap from 1, and first arrivals in increasing order
        within each priority lane. Across lanes ``seq`` goes back by design: the gateway sends
        the highest lane first, so an alarm overtakes a backlog (protocol.md, section 1)."""
        got = [(m.event.seq, body_priority(m.event.body))  # type: ignore[union-attr]
               for m in self.events()]
        seqs = [seq for seq, _ in got]
        assert seqs, "no events received"
        missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
        assert not missing, (f"events lost: {len(missing)} gateway seq(s) never arrived, "
                             f"first {missing[:10]} (received {len(seqs)}, max seq {max(seqs)})")
        newest: dict[int, int] = {}
        out_of_order: list[tuple[int, int, int]] = []  # (lane, seq before, seq that went back)
        for seq, lane in got:
            if seq < newest.get(lane, 0):
                out_of_order.append((lane, newest[lane], seq))
            newest[lane] = max(newest.get(lane, 0), seq)
        assert not out_of_order, ("order broken within a priority lane: first arrivals went "
                                  f"back (lane, before, after) {out_of_order[:5]}")
        return seqs
