"""Fixtures shared by the host tests: a private mosquitto and an event collector."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import LocalMosquitto
from gateway.config import GatewayConfig, parse_config
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def broker() -> Iterator[LocalMosquitto]:
    """A fresh mosquitto on a free loopback port, with persistence (restartable)."""
    b = LocalMosquitto(persistence=True)
    b.start()
    try:
        yield b
    finally:
        b.close()


class Collector:
    """Subscriber that records every non-duplicate message; waits with a deadline."""

    def __init__(self, port: int, **opts: Any) -> None:
        self.messages: list[Received] = []
        # Kept apart as they arrive: ``events`` is read by wait_for predicates on every
        # message, and filtering all messages each time made a 50,000-event wait quadratic
        # (the subscriber's thread waited on the lock: ~1,000 events/s on a slow host).
        self._events: list[Received] = []
        self._cond = threading.Condition()
        self.sub = EventSubscriber(SubscriberOptions(port=port, **opts), self._on)

    def _on(self, msg: Received) -> None:
        with self._cond:
            self.messages.append(msg)
            if msg.kind == "event":
                self._events.append(msg)
            self._cond.notify_all()

    @property
    def events(self) -> list[Received]:
        with self._cond:
            return list(self._events)

    def of_kind(self, kind: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.kind == kind]

    def wait_for(self, predicate: Callable[[Collector], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
        return True

    def start(self) -> Collector:
        self.sub.start()
        assert self.sub.subscribed.wait(10), "subscriber could not connect and subscribe"
        return self

    def stop(self) -> None:
        self.sub.stop()


@pytest.fixture
def collect(broker: LocalMosquitto) -> Iterator[Callable[..., Collector]]:
    """Factory for started collectors on the test broker; all are stopped at the end."""
    made: list[Collector] = []

    def make(**opts: Any) -> Collector:
        c = Collector(broker.port, **opts).start()
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


def make_config(tmp_path: Path, port: int, **sections: dict[str, Any]) -> GatewayConfig:
    """A test configuration: broker on ``port``, spool under ``tmp_path``, demo off."""
    raw: dict[str, Any] = {
        "mqtt": {"port": port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
        "spool": {"path": str(tmp_path / "spool.sqlite3")},
        "demo": {"enabled": False},
        "health": {"interval_s": 0.5},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse_config(raw)
