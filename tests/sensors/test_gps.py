"""NMEA GPS: parser properties (hypothesis), time source, reader over a real pty."""

from __future__ import annotations

import os
import time
import tty
from datetime import UTC, date, datetime, timedelta
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.sensors.config import GpsConfig
from gateway.sensors.gps import (
    GpsTimeSource,
    NmeaGpsReader,
    NmeaParser,
    best_utc_now,
    ntp_synchronized,
)
from gateway.sensors.lines import LineSplitter
from gateway.sensors.records import GpsFix


def nmea(body: str) -> str:
    cs = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{cs:02X}"


def ddmm(value: float, deg_digits: int) -> str:
    deg = int(abs(value))
    minutes = (abs(value) - deg) * 60
    return f"{deg:0{deg_digits}d}{minutes:07.4f}"


def rmc(t: datetime, lat: float, lon: float, status: str = "A") -> str:
    return nmea(f"GPRMC,{t:%H%M%S}.00,{status},{ddmm(lat, 2)},{'N' if lat >= 0 else 'S'},"
                f"{ddmm(lon, 3)},{'E' if lon >= 0 else 'W'},0.5,90.0,{t:%d%m%y},,,A")


def gga(t: datetime, lat: float, lon: float, quality: int = 1, sats: int = 9) -> str:
    return nmea(f"GPGGA,{t:%H%M%S}.00,{ddmm(lat, 2)},{'N' if lat >= 0 else 'S'},"
                f"{ddmm(lon, 3)},{'E' if lon >= 0 else 'W'},{quality},{sats:02d},0.9,"
                f"123.4,M,46.9,M,,")


times = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))
lats = st.floats(-89.99, 89.99)
lons = st.floats(-179.99, 179.99)


@given(times, lats, lons)
def test_generated_fix_roundtrip(t: datetime, lat: float, lon: float) -> None:
    p = NmeaParser()
    assert p.parse_line(gga(t, lat, lon)) is not None
    fix = p.parse_line(rmc(t, lat, lon))
    assert fix is not None
    assert fix.latitude == pytest.approx(lat, abs=1e-5)
    assert fix.longitude == pytest.approx(lon, abs=1e-5)
    assert fix.gps_time == t
    assert (fix.satellites, fix.hdop, fix.altitude_m) == (9, 0.9, 123.4)


@given(st.text(max_size=100))
def test_arbitrary_lines_never_raise(line: str) -> None:
    p = NmeaParser()
    p.parse_line(line)
    p.parse_line("$" + line)


@given(times, lats, lons, st.integers(1, 60))
def test_corrupted_checksum_rejected_and_counted(t: datetime, lat: float, lon: float,
                                                  pos: int) -> None:
    line = rmc(t, lat, lon)
    i = 1 + pos % (len(line) - 4)
    bad = line[:i] + ("0" if line[i] != "0" else "1") + line[i + 1:]
    p = NmeaParser()
    assert p.parse_line(bad) is None
    assert sum(v for k, v in p.counters.snapshot().items() if k.startswith("rejected_")) == 1


def test_no_fix_sentences_produce_nothing() -> None:
    p = NmeaParser()
    t = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert p.parse_line(rmc(t, 1, 2, status="V")) is None
    assert p.parse_line(gga(t, 1, 2, quality=0)) is None
    assert p.counters.get("no_fix") == 2


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_line_splitter_never_raises(chunks: list[bytes]) -> None:
    s = LineSplitter(max_len=40)
    for c in chunks:
        for line in s.feed(c):
            assert len(line) <= 40 and line.isascii()


def test_time_source_ages_out() -> None:
    now = [100.0]
    ts = GpsTimeSource(max_age_s=10, monotonic=lambda: now[0])
    assert ts.now() is None
    t = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    ts.update(GpsFix(1, 2, None, 1, 8, 1.0, t, t))
    now[0] += 2.5
    assert ts.now() == t + timedelta(seconds=2.5)
    now[0] += 20
    assert ts.now() is None


def test_best_time_prefers_ntp_then_gps() -> None:
    t = datetime(2030, 1, 1, tzinfo=UTC)
    ts = GpsTimeSource()
    ts.update(GpsFix(1, 2, None, 1, 8, 1.0, t, t))
    assert best_utc_now(ts, lambda: True)[1] == "ntp"
    got, src = best_utc_now(ts, lambda: False)
    assert src == "gps" and abs((got - t).total_seconds()) < 1
    assert best_utc_now(None, lambda: False)[1] == "unsynchronized"
    assert ntp_synchronized() in (True, False, None)


def test_reader_over_pty_with_noise() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    fixes: list[GpsFix] = []
    reader = NmeaGpsReader(GpsConfig.model_validate(
        {"serial": {"port": os.ttyname(slave), "read_timeout_s": 0.05}}), fixes.append)
    reader.start()
    try:
        assert reader.serial.wait_connected(5)
        t = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
        stream = ("\xff\xfe garbage\r\n" + gga(t, 31.2, 121.5) + "\r\n$GPRMC,broken*00\r\n"
                  + rmc(t, 31.2, 121.5) + "\r\n").encode("latin-1")
        for i in range(0, len(stream), 7):  # trickle in like a 9600-baud receiver
            os.write(master, stream[i:i + 7])
        end = time.monotonic() + 5
        while len(fixes) < 2 and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        reader.stop()
        os.close(master)
        os.close(slave)
    assert len(fixes) == 2
    fix = reader.latest_fix()
    assert fix is not None and fix.gps_time == t and fix.satellites == 9
    assert reader.time_source.now() is not None
    c = reader.counters.snapshot()
    assert c["rejected_non_ascii"] == 1 and c["rejected_checksum"] == 1
    assert c["garbage_bytes"] > 0
    assert date(2026, 3, 4) == fix.gps_time.date()
