"""NMEA GPS: position fixes for events, and UTC time when NTP is not available.

Checkpoints in the field often have no NTP (no uplink yet, or a firewalled one); the GPS
receiver then is the only trustworthy clock. ``GpsTimeSource`` keeps the last GPS time
with the monotonic clock at receipt, so time can be read between sentences.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pynmea2

from gateway.sensors.config import GpsConfig
from gateway.sensors.counters import Counters
from gateway.sensors.lines import LineSplitter
from gateway.sensors.ntp import ntp_synchronized
from gateway.sensors.records import GpsFix
from gateway.sensors.serialport import Opener, SerialPortReader

log = logging.getLogger(__name__)


class NmeaParser:
    """Parse NMEA sentences into :class:`GpsFix` records (RMC and GGA; others ignored).

    RMC carries date, validity and position; GGA adds fix quality, satellites, HDOP and
    altitude. A fix is produced for each valid RMC or GGA, merged with the latest other
    sentence of the same second.
    """

    def __init__(self, counters: Counters | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.counters = counters if counters is not None else Counters()
        self.clock = clock
        self._date = None  # last RMC date: GGA carries only the time of day
        self._gga: pynmea2.GGA | None = None
        self._logged: set[str] = set()

    def parse_line(self, line: str) -> GpsFix | None:
        """Return a fix if the line completes one; bad lines are counted, never raised."""
        if not line.startswith("$"):
            return self._reject("not_nmea", line)
        try:
            msg = pynmea2.parse(line, check=True)
        except pynmea2.ChecksumError:
            return self._reject("checksum", line)
        except (pynmea2.ParseError, ValueError, TypeError, AttributeError):
            return self._reject("parse", line)
        self.counters.add("sentences_ok")
        try:
            if isinstance(msg, pynmea2.RMC):
                return self._rmc(msg)
            if isinstance(msg, pynmea2.GGA):
                return self._gga_fix(msg)
        except (ValueError, TypeError, AttributeError):
            return self._reject("fields", line)
        return None

    def _reject(self, reason: str, line: str) -> GpsFix | None:
        self.counters.add(f"rejected_{reason}")
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning("gps: dropped sentence (%s): %.40r; check baud rate and receiver "
                        "output settings. Further ones are only counted.", reason, line)
        return None

    def _rmc(self, msg: pynmea2.RMC) -> GpsFix | None:
        if msg.status != "A" or msg.datestamp is None or msg.timestamp is None:
            self.counters.add("no_fix")
            return None
        day = msg.datestamp
        if day.year < 2000:
            # RMC has a 2-digit year and pynmea2 pivots 69..99 to 19xx; GPS time cannot
            # be before 1980 and receivers of this century mean 20xx.
            day = day.replace(year=day.year + 100)
        self._date = day
        gps_time = datetime.combine(day, msg.timestamp).replace(tzinfo=UTC)
        gga = self._gga
        same = gga is not None and gga.timestamp == msg.timestamp
        return GpsFix(
            latitude=float(msg.latitude), longitude=float(msg.longitude),
            altitude_m=_float(gga.altitude) if same and gga is not None else None,
            fix_quality=int(gga.gps_qual or 0) if same and gga is not None else 1,
            satellites=_int(gga.num_sats) if same and gga is not None else None,
            hdop=_float(gga.horizontal_dil) if same and gga is not None else None,
            gps_time=gps_time, received_at=self.clock(),
        )

    def _gga_fix(self, msg: pynmea2.GGA) -> GpsFix | None:
        self._gga = msg
        quality = int(msg.gps_qual or 0)
        if quality == 0 or msg.timestamp is None:
            self.counters.add("no_fix")
            return None
        gps_time = (datetime.combine(self._date, msg.timestamp).replace(tzinfo=UTC)
                    if self._date is not None else None)
        return GpsFix(
            latitude=float(msg.latitude), longitude=float(msg.longitude),
            altitude_m=_float(msg.altitude), fix_quality=quality,
            satellites=_int(msg.num_sats), hdop=_float(msg.horizontal_dil),
            gps_time=gps_time, received_at=self.clock(),
        )


def _float(v: object) -> float | None:
    try:
        return float(v) if v not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _int(v: object) -> int | None:
    try:
        return int(v) if v not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class GpsTimeSource:
    """UTC from the last GPS time plus monotonic time elapsed since it arrived."""

    def __init__(self, max_age_s: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._monotonic = monotonic
        self._ref: tuple[datetime, float] | None = None
        self._lock = threading.Lock()

    def update(self, fix: GpsFix, at_monotonic: float | None = None) -> None:
        """Take the time of a fix (call right when its sentence arrived)."""
        if fix.gps_time is None:
            return
        with self._lock:
            self._ref = (fix.gps_time, self._monotonic() if at_monotonic is None
                         else at_monotonic)

    def reference(self) -> tuple[datetime, float] | None:
        """The last GPS time and the monotonic time it arrived at (None before the first)."""
        with self._lock:
            return self._ref

    def now(self) -> datetime | None:
        """GPS-derived UTC now, or None when there is no recent GPS time."""
        with self._lock:
            ref = self._ref
        if ref is None:
            return None
        age = self._monotonic() - ref[1]
        if age > self.max_age_s or age < 0:
            return None
        return ref[0] + timedelta(seconds=age)


def best_utc_now(gps: GpsTimeSource | None,
                 ntp_ok: Callable[[], bool | None] = ntp_synchronized) -> tuple[datetime, str]:
    """(time, source): the system clock when NTP-synced, else GPS, else the unsynced clock."""
    system = datetime.now(UTC)
    if ntp_ok():
        return system, "ntp"
    g = gps.now() if gps is not None else None
    if g is not None:
        return g, "gps"
    return system, "unsynchronized"


class NmeaGpsReader:
    """GPS receiver on a serial port: its own thread, latest fix, time source, callback."""

    def __init__(self, cfg: GpsConfig, on_fix: Callable[[GpsFix], None] | None = None, *,
                 counters: Counters | None = None, opener: Opener | None = None) -> None:
        self.cfg = cfg
        self.on_fix = on_fix
        self.counters = counters if counters is not None else Counters()
        self.parser = NmeaParser(self.counters)
        self.splitter = LineSplitter(counters=self.counters)
        self.time_source = GpsTimeSource(cfg.max_fix_age_s)
        self._latest: tuple[GpsFix, float] | None = None
        kw = {"opener": opener} if opener is not None else {}
        self.serial = SerialPortReader(cfg.serial, self.feed, name="gps",
                                       counters=self.counters, **kw)

    def start(self) -> None:
        """Start reading."""
        self.serial.start()

    def stop(self) -> None:
        """Stop reading."""
        self.serial.stop()

    def feed(self, data: bytes) -> None:
        """Process raw bytes from the receiver (the serial reader's sink)."""
        for line in self.splitter.feed(data):
            fix = self.parser.parse_line(line)
            if fix is None:
                continue
            now = time.monotonic()
            self.time_source.update(fix, now)
            sats_ok = fix.satellites is None or fix.satellites >= self.cfg.min_satellites
            if sats_ok:
                self._latest = (fix, now)
                self.counters.add("fixes")
            if self.on_fix is not None:
                try:
                    self.on_fix(fix)
                except Exception:  # a consumer bug must not stop reading fixes
                    self.counters.add("callback_errors")
                    log.exception("gps: callback failed")

    def latest_fix(self) -> GpsFix | None:
        """The last trusted fix if younger than ``max_fix_age_s`` (for event locations)."""
        latest = self._latest
        if latest is None or time.monotonic() - latest[1] > self.cfg.max_fix_age_s:
            return None
        return latest[0]
