"""Trusted time end to end: NTP reported unsynchronized (the probe overridden in the
configuration, as CI cannot fake adjtimex), a GPS receiver on a pty whose time is 3 h off the
system clock: events take GPS time and say so, the retained state shows ``clock: gps``, and
the jump is reported once."""

from __future__ import annotations

import os
import re
import threading
import tty
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import reduce
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.events import ClockSource, DeviceFault, Severity
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config

OFFSET = timedelta(hours=-3)


def nmea(body: str) -> bytes:
    checksum = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{checksum:02X}\r\n".encode()


def sentences(t: datetime) -> bytes:
    hms, dmy = t.strftime("%H%M%S.00"), t.strftime("%d%m%y")
    return (nmea(f"GPGGA,{hms},3016.4451,N,12009.3042,E,1,08,0.9,12.0,M,7.0,M,,")
            + nmea(f"GPRMC,{hms},A,3016.4451,N,12009.3042,E,0.0,0.0,{dmy},,,A"))


class FakeReceiver:
    """A GPS receiver on a pty: RMC + GGA every 0.5 s with a time OFFSET from the system's."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            os.write(self.master, sentences(datetime.now(UTC) + OFFSET))

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(2)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    r = FakeReceiver()
    try:
        yield r
    finally:
        r.close()


def probe_event(n: int) -> DeviceFault:
    return DeviceFault(component="test", code=f"probe{n}", severity=Severity.INFO)


def test_gps_time_when_ntp_unsynchronized(broker: LocalMosquitto, receiver: FakeReceiver,
                                          tmp_path: Path) -> None:
    cfg = make_config(tmp_path, broker.port, sensors={
        "gps": {"serial": {"port": receiver.port}, "min_satellites": 0},
        "clock": {"ntp": "unsynchronized", "jump_threshold_s": 2.0}})
    sub = Collector(broker.port, include_status=True).start()
    service = GatewayService(cfg)
    service.start()
    try:
        def states(c: Collector) -> list[dict]:
            return [m.document for m in c.of_kind("state") if m.document.get("online")]

        assert sub.wait_for(lambda c: any(s.get("clock") == "free" for s in states(c)), 10)
        free = service.producer.emit(probe_event(1))
        assert free is not None and free.clock is ClockSource.FREE

        receiver.thread.start()
        assert sub.wait_for(lambda c: any(s.get("clock") == "gps" for s in states(c)), 10), \
            states(sub)
        gps = service.producer.emit(probe_event(2))
        assert gps is not None and gps.clock is ClockSource.GPS
        want = (datetime.now(UTC) + OFFSET).timestamp() * 1000
        assert abs(gps.ts_ms - want) < 2500, (gps.ts_ms - want) / 1000

        def jumps(c: Collector) -> list:
            return [m.event for m in c.events if m.event.body.code == "clock_jump"]

        assert sub.wait_for(lambda c: len(jumps(c)) >= 1, 10)
        # Reported once, however long GPS keeps the clock (several more sentences).
        assert not sub.wait_for(lambda c: len(jumps(c)) > 1, 3)
        (jump,) = jumps(sub)
        assert jump.body.component == "clock"
        # NMEA time has whole seconds here, so the step is -10800 s minus up to one second of
        # truncation: -10800.x or -10801.0 once rounded for the message.
        step = float(re.search(r"jumped ([-+][0-9.]+) s", jump.body.message).group(1))  # type: ignore[union-attr]
        assert -10801.05 <= step <= -10799.95, jump.body.message
        assert jump.clock is ClockSource.GPS
        assert sub.wait_for(lambda c: {"probe1", "probe2"} <= {
            m.event.body.code for m in c.events}, 10)
        got = {m.event.body.code: m.event for m in sub.events}
        assert got["probe1"].clock is ClockSource.FREE and got["probe2"].clock is ClockSource.GPS
        assert got["probe1"].ts_ms - got["probe2"].ts_ms > 3 * 3600 * 1000 - 10_000
        health = service.health.report(0)["sensors"]["gps"]
        assert health.get("fixes", 0) >= 1
    finally:
        service.stop()
        sub.stop()
