"""The envelope every event shares: id, per-device sequence number, time, type, location,
and (schema v2) where its time came from."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

from gateway.events.bodies import Body
from gateway.events.errors import EventValidationError
from gateway.events.numbers import finite_float
from gateway.events.types import ClockSource, EventType

SCHEMA_VERSION = 2  # the newest version this code writes and reads
SUPPORTED_VERSIONS = (1, 2)


def new_event_id(ts_ms: int | None = None) -> bytes:
    """A 16-byte UUIDv7 (RFC 9562): time-ordered, random enough to be unique without a registry."""
    ms = int(time.time() * 1000) if ts_ms is None else ts_ms
    rand = bytearray(os.urandom(10))
    rand[0] = 0x70 | (rand[0] & 0x0F)  # version 7
    rand[2] = 0x80 | (rand[2] & 0x3F)  # RFC 4122 variant
    return (ms & (2**48 - 1)).to_bytes(6, "big") + bytes(rand)


def now_ms() -> int:
    """Current UTC time in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Location:
    """A WGS84 position, held to 6 decimals (~0.1 m), which is what the wire carries."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        for name, value, limit in (("lat", self.lat, 90.0), ("lon", self.lon, 180.0)):
            error = f"location.{name} must be within +-{limit}"
            number = finite_float(value, error)  # also an integer too large for a float
            if abs(number) > limit:
                raise EventValidationError(error)
            object.__setattr__(self, name, round(number * 1e6) / 1e6)


@dataclass(frozen=True, slots=True)
class Event:
    """One event as produced by a device. ``seq`` is assigned by the spool (0 = not yet)."""

    body: Body
    id: bytes
    ts_ms: int
    seq: int = 0
    loc: Location | None = None
    clock: ClockSource | None = None  # None: synchronised clock (NTP), as in schema v1

    def __post_init__(self) -> None:
        if not isinstance(self.body, Body):
            raise EventValidationError("event body must be a Body")
        if not isinstance(self.id, bytes) or len(self.id) != 16:
            raise EventValidationError("event id must be 16 bytes")
        for name in ("ts_ms", "seq"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise EventValidationError(f"event {name} must be a non-negative integer")
        if self.loc is not None and not isinstance(self.loc, Location):
            raise EventValidationError("event loc must be a Location")
        if self.clock is not None and not isinstance(self.clock, ClockSource):
            raise EventValidationError("event clock must be a ClockSource")

    @property
    def type(self) -> EventType:
        """The event type, taken from the body."""
        return self.body.TYPE

    @property
    def version(self) -> int:
        """The schema version this event is written with: the lowest that can carry it, so
        events that use nothing new still reach subscribers that only read v1."""
        return max(self.body.min_version(), 1 if self.clock is None else 2)

    @classmethod
    def new(cls, body: Body, loc: Location | None = None, ts_ms: int | None = None,
            clock: ClockSource | None = None) -> Event:
        """A fresh event with a new id and the current time; the spool gives it a sequence."""
        ts = now_ms() if ts_ms is None else ts_ms
        return cls(body=body, id=new_event_id(ts), ts_ms=ts, loc=loc, clock=clock)

    def with_seq(self, seq: int) -> Event:
        """This event with its per-device sequence number set."""
        return replace(self, seq=seq)
