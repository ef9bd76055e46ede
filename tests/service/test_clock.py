"""Trusted clock: NTP, else GPS with holdover, else free; jumps reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.events.types import ClockSource
from gateway.sensors.config import ClockConfig
from gateway.sensors.gps import GpsTimeSource
from gateway.sensors.records import GpsFix
from gateway.service.clock import TrustedClock

WALL = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Mono:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def fix(t: datetime) -> GpsFix:
    return GpsFix(30.0, 120.0, None, 1, 8, 1.0, t, t)


def test_sources_and_one_report_per_jump() -> None:
    mono = Mono()
    ntp = [False]
    gps = GpsTimeSource(10.0, monotonic=mono)
    wall = lambda: int((WALL + timedelta(seconds=mono.t - 500)).timestamp() * 1e9)  # noqa: E731
    clk = TrustedClock(ClockConfig(gps_holdover_s=60), lambda: gps, probe=lambda: ntp[0],
                       wall_ns=wall, monotonic=mono)
    ms, src = clk.stamp()
    assert src is ClockSource.FREE and ms == int(WALL.timestamp() * 1000)
    assert clk.source_name() == "free" and clk.take_jumps() == []
    gps.update(fix(WALL - timedelta(hours=3)), at_monotonic=mono.t)  # GPS says 3 h earlier
    mono.t += 1.5  # past the NTP probe cache
    ms, src = clk.stamp()
    assert src is ClockSource.GPS
    assert ms == int((WALL - timedelta(hours=3) + timedelta(seconds=1.5)).timestamp() * 1000)
    (jump,) = clk.take_jumps()
    assert round(jump.delta_s) == -10800 and (jump.before, jump.after) == ("free", "gps")
    for _ in range(2):
        mono.t += 20  # GPS quiet, but within the 60 s holdover: still GPS, no new jump
        assert clk.stamp()[1] is ClockSource.GPS
    assert clk.take_jumps() == []
    mono.t += 30  # holdover over: back to the free clock, and that is a jump too
    assert clk.stamp()[1] is ClockSource.FREE
    assert [round(j.delta_s) for j in clk.take_jumps()] == [10800]
    ntp[0] = True
    mono.t += 2
    assert clk.stamp()[1] is None and clk.source_name() == "ntp"
    assert clk.take_jumps() == []  # free -> ntp on the same system clock: no step
