"""Event rows for the central tests (built through the real codec and classifier)."""

from __future__ import annotations

import time

from central.decode import EventRow, classify
from gateway.events import Direction, Event, Location, Topics, VehiclePassage, encode, new_event_id

HOUR = 3_600_000


def row(device: str, seq: int, body: object, ts_ms: int | None = None,
        loc: Location | None = None) -> EventRow:
    ts = ts_ms if ts_ms is not None else time.time_ns() // 1_000_000
    ev = Event(body=body, id=new_event_id(ts), ts_ms=ts, seq=seq, loc=loc)  # type: ignore[arg-type]
    c = classify(Topics(device).event(ev.type), encode(ev), None, ts + 50)
    assert isinstance(c, EventRow), c
    return c


def passage(device: str, seq: int, plate: str, ts_ms: int | None = None,
            direction: Direction = Direction.INBOUND) -> EventRow:
    return row(device, seq, VehiclePassage(plate=plate, direction=direction, vehicle_class="car",
                                           plate_conf=0.9), ts_ms, Location(30.1, 120.2))
