"""Trusted time for event stamps: NTP when the kernel says synchronized, else GPS, else the
free-running system clock, with the source carried in every event (envelope ``clk``).

Why: checkpoints often start without NTP (no uplink yet, a firewalled one). A Pi has no RTC
battery, so its clock may then be hours off, and events stamped with it would be misplaced at
the centre without anyone knowing. The GPS receiver is then the trustworthy clock; when there
is none, the event says ``free`` and the centre times it by its own receipt.

Contract: :meth:`TrustedClock.stamp` returns ``(ts_ms, clock)`` where ``clock`` is None for
NTP (the v1 meaning of a time stamp), ``ClockSource.GPS`` or ``ClockSource.FREE``. GPS time
is the last GPS time plus the monotonic time since it arrived, kept for ``gps_holdover_s``
after the receiver goes quiet. A step of the chosen time against the monotonic clock larger
than ``jump_threshold_s`` (a source change, or the system clock being set) is a jump: logged
once and handed once to :meth:`take_jumps` for the service to report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from gateway.events.types import ClockSource
from gateway.sensors.config import ClockConfig
from gateway.sensors.ntp import ntp_synchronized

if TYPE_CHECKING:  # the GPS stack is imported only where a receiver is configured
    from gateway.sensors.gps import GpsTimeSource

log = logging.getLogger(__name__)

# adjtimex is a cheap system call, but events can come by the hundred per second and the
# NTP state changes on a scale of minutes: ask the kernel at most this often.
NTP_PROBE_EVERY_S = 1.0
SOURCE_NAMES = {None: "ntp", ClockSource.GPS: "gps", ClockSource.FREE: "free"}


@dataclass(frozen=True, slots=True)
class ClockJump:
    """The event clock stepped by ``delta_s`` (positive: forward), e.g. free -> gps."""

    delta_s: float
    before: str
    after: str

    def message(self) -> str:
        """One line for the log and the device_fault event."""
        return (f"event clock jumped {self.delta_s:+.1f} s ({self.before} -> {self.after}); "
                "events on either side of the jump are not comparable by time stamp. Check "
                "NTP (timedatectl) and the GPS antenna.")


def ntp_probe(mode: str) -> Callable[[], bool | None]:
    """The NTP synchronization probe for ``[sensors.clock] ntp``."""
    if mode == "synchronized":
        return lambda: True
    if mode == "unsynchronized":
        return lambda: False
    return ntp_synchronized


class TrustedClock:
    """Chooses the time source per stamp and watches for jumps. Thread-safe."""

    def __init__(self, cfg: ClockConfig,
                 gps: Callable[[], GpsTimeSource | None] = lambda: None, *,
                 probe: Callable[[], bool | None] | None = None,
                 wall_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self._gps = gps
        self._probe = probe or ntp_probe(cfg.ntp)
        self._wall_ns = wall_ns
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._ntp_ok: bool = False
        self._ntp_checked = -1e18
        self._offset_ms: int | None = None
        self._source: ClockSource | None = None
        self._jumps: list[ClockJump] = []

    def _ntp(self, mono: float) -> bool:
        if mono - self._ntp_checked >= NTP_PROBE_EVERY_S:
            self._ntp_checked = mono
            try:
                self._ntp_ok = bool(self._probe())
            except OSError:  # a probe that cannot answer means "not known to be synced"
                self._ntp_ok = False
        return self._ntp_ok

    def _gps_ms(self, mono: float) -> int | None:
        src = self._gps()
        ref = src.reference() if src is not None else None
        if ref is None:
            return None
        gps_time, at = ref
        age = mono - at
        if age < 0 or age > max(self.cfg.gps_holdover_s, src.max_age_s if src else 0):
            return None
        return int((gps_time + timedelta(seconds=age)).timestamp() * 1000)

    def stamp(self) -> tuple[int, ClockSource | None]:
        """(UTC ms, clock source) for an event stamped now."""
        with self._lock:
            mono = self._monotonic()
            system_ms = self._wall_ns() // 1_000_000
            source: ClockSource | None
            if self._ntp(mono):
                ms, source = system_ms, None
            else:
                gps_ms = self._gps_ms(mono)
                if gps_ms is not None:
                    ms, source = gps_ms, ClockSource.GPS
                else:
                    ms, source = system_ms, ClockSource.FREE
            self._watch(ms, mono, source)
            return ms, source

    def _watch(self, ms: int, mono: float, source: ClockSource | None) -> None:
        offset = ms - int(mono * 1000)
        last = self._offset_ms
        if last is not None and abs(offset - last) > self.cfg.jump_threshold_s * 1000:
            jump = ClockJump((offset - last) / 1000, SOURCE_NAMES[self._source],
                             SOURCE_NAMES[source])
            self._jumps.append(jump)
            log.warning("clock: %s", jump.message())
        elif source is not self._source and last is not None:
            log.info("clock: event time now from %s (was %s)", SOURCE_NAMES[source],
                     SOURCE_NAMES[self._source])
        self._offset_ms = offset
        self._source = source

    def source_name(self) -> str:
        """``ntp``, ``gps`` or ``free``: where the current stamps come from."""
        self.stamp()
        with self._lock:
            return SOURCE_NAMES[self._source]

    def take_jumps(self) -> list[ClockJump]:
        """Jumps seen since the last call (each one is returned once)."""
        with self._lock:
            jumps, self._jumps = self._jumps, []
        return jumps
