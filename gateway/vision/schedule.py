"""Active hours and alert levels: when a camera, zone or line is armed, and which rule set runs.

Why a module of its own: the same windows arm cameras, zones and lines, and choose the site's
alert level on a schedule; the checks must agree everywhere and be testable without a camera.

Contract: every decision follows the *frame's* time (``Frame.wall``, UTC epoch seconds) seen in
the site's time zone, never the process clock, so a recorded video replayed with a start time
of 02:00 (``[cameras.<name>.source] start_time``) is judged exactly as a live camera at 02:00
would be; no test sleeps to reach night. An operator's level (``cmd/level``) outranks the
schedule until it is released or its time runs out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from gateway.strict import StrictModel

DEFAULT_LEVEL = "normal"


class Weekday(StrEnum):
    """Day of the week on which a window *starts* (a 22:00-06:00 window on fri ends on sat)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_DAYS = list(Weekday)  # index = datetime.weekday()


class TimeWindow(StrictModel):
    """A daily window in site time. ``end`` before ``start`` crosses midnight (dusk to dawn)."""

    start: clock_time = Field(description="Start, site time, e.g. '19:00' (inclusive).")
    end: clock_time = Field(description="End, site time, e.g. '06:30' (exclusive); an end "
                            "before the start means the window runs past midnight.")
    days: tuple[Weekday, ...] = Field(
        default=(), description="Days on which the window starts: mon..sun (empty: every day).")

    @model_validator(mode="after")
    def _start_differs_from_end(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError(f"window {self.start:%H:%M}-{self.end:%H:%M} is empty: for all "
                             "day long leave the window list empty instead")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are site time: give them without an offset "
                             "(set [site] timezone instead)")
        return self

    def _starts_on(self, day: datetime) -> bool:
        return not self.days or _DAYS[day.weekday()] in self.days

    def contains(self, local: datetime) -> bool:
        """Whether the site-local time ``local`` falls inside the window."""
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end and self._starts_on(local)
        # Across midnight: the evening part belongs to today's window, the morning part to
        # the window that started yesterday.
        if now >= self.start:
            return self._starts_on(local)
        if now < self.end:
            return self._starts_on(local - timedelta(days=1))
        return False


def in_windows(windows: Iterable[TimeWindow], local: datetime) -> bool:
    """True when ``windows`` is empty (always armed) or one of them contains ``local``."""
    windows = tuple(windows)
    return not windows or any(w.contains(local) for w in windows)


class LevelWindow(TimeWindow):
    """A scheduled alert level: the site runs at ``level`` during this window."""

    level: str = Field(description="Alert level in force during the window (one of [site] levels).")


class SiteConfig(StrictModel):
    """``[site]``: the site's time zone and its alert levels (which rule set runs when)."""

    timezone: str = Field(
        default="UTC", description="IANA time zone of the site, e.g. 'Asia/Shanghai'; active "
        "hours and level schedules are read in it.")
    levels: tuple[str, ...] = Field(
        default=(DEFAULT_LEVEL,), min_length=1,
        description="Names of the alert levels, e.g. ['normal', 'heightened']. Cameras, zones "
        "and lines can be limited to some levels; cameras can change thresholds per level.")
    default_level: str = Field(
        default=DEFAULT_LEVEL, description="Level when no schedule window and no operator says "
        "otherwise.")
    level_schedule: tuple[LevelWindow, ...] = Field(
        default=(), description="Windows with their level; the first window that contains the "
        "frame's time wins. An operator's cmd/level outranks the schedule.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as "
                             "'Asia/Shanghai' or 'UTC' (package tzdata)") from None
        return value

    @model_validator(mode="after")
    def _levels_are_declared(self) -> SiteConfig:
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("level names must be unique")
        used = {self.default_level, *(w.level for w in self.level_schedule)}
        unknown = sorted(used - set(self.levels))
        if unknown:
            raise ValueError(f"levels {unknown} are not declared in [site] levels "
                             f"{list(self.levels)}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, wall: float) -> datetime:
        """UTC epoch seconds as site-local time."""
        return datetime.fromtimestamp(wall, self.zone)

    def scheduled_level(self, wall: float) -> str:
        """The level the schedule gives at ``wall`` (no operator override)."""
        local = self.local(wall)
        for window in self.level_schedule:
            if window.contains(local):
                return window.level
        return self.default_level


class LevelError(ValueError):
    """An operator asked for a level the site does not declare (the reply names the valid ones)."""


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's level: in force until ``until`` (UTC epoch seconds; None: until released)."""

    level: str
    until: float | None
    by: str | None
    since: float


#: The longest timed override an operator may set (``for_s``): 366 days. Longer holds are
#: given without ``for_s`` and end when released.
MAX_OVERRIDE_S = 366 * 86_400


class LevelController:
    """The site's current alert level: schedule, default, and the operator's override.

    Thread-safe: the command worker sets levels while every camera thread asks for the level
    of its newest frame. ``on_change`` is called (outside the lock) after an operator change,
    so the service can republish its retained state.
    """

    def __init__(self, site: SiteConfig, clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self._clock = clock
        self._lock = threading.Lock()
        self._override: Override | None = None
        self.on_change: Callable[[], None] | None = None

    def level_at(self, wall: float) -> str:
        """Level in force at frame time ``wall``: the override while it lasts, else the schedule.

        An override's expiry is judged by the gateway's own clock (an operator gave it in real
        time); the schedule by the frame's time."""
        ov = self._current_override()
        return ov.level if ov is not None else self.site.scheduled_level(wall)

    def _current_override(self) -> Override | None:
        with self._lock:
            ov = self._override
            if ov is not None and ov.until is not None and self._clock() >= ov.until:
                self._override = ov = None
            return ov

    def set_level(self, level: str | None, for_s: float | None = None,
                  by: str | None = None) -> dict[str, object]:
        """Operator command: force ``level`` (for ``for_s`` seconds, or until released);
        ``None`` releases it back to the schedule. Returns the new :meth:`state`."""
        if level is not None and level not in self.site.levels:
            raise LevelError(f"unknown level {level!r}; levels: {list(self.site.levels)}")
        if for_s is not None and not 0 < for_s <= MAX_OVERRIDE_S:
            # an infinite or astronomical until could not be written in the retained state
            # (int(inf) raised on every state publish from then on)
            raise LevelError(f"for_s must be a positive number of seconds, at most "
                             f"{MAX_OVERRIDE_S} (366 days); leave it out to hold until released")
        now = self._clock()
        with self._lock:
            self._override = None if level is None else Override(
                level, None if for_s is None else now + for_s, by, now)
        if self.on_change is not None:
            self.on_change()
        return self.state()

    def state(self) -> dict[str, object]:
        """The level part of the retained state document: level, where it comes from, until."""
        ov = self._current_override()
        if ov is not None:
            doc: dict[str, object] = {"level": ov.level, "source": "operator",
                                      "since": int(ov.since * 1000)}
            if ov.until is not None:
                doc["until"] = int(ov.until * 1000)
            if ov.by:
                doc["by"] = ov.by
            return doc
        now = self._clock()
        level = self.site.scheduled_level(now)
        source = "schedule" if any(w.contains(self.site.local(now))
                                   for w in self.site.level_schedule) else "default"
        return {"level": level, "source": source}


def level_command(levels: LevelController) -> Callable[[dict[str, object]], dict[str, object]]:
    """Handler of ``cmd/level``: ``{"level": "heightened", "for_s": 3600, "by": "duty officer"}``
    forces a level (for a time, or until released); ``{"level": null}`` hands the level back
    to the schedule; ``{}`` only reports it. The reply is the new level state."""

    def handle(args: dict[str, object]) -> dict[str, object]:
        if "level" not in args:
            return {**levels.state(), "levels": list(levels.site.levels)}
        level, for_s, by = args.get("level"), args.get("for_s"), args.get("by")
        if level is not None and not isinstance(level, str):
            raise LevelError("level must be a level name, or null to return to the schedule")
        if for_s is not None and (isinstance(for_s, bool) or not isinstance(for_s, int | float)
                                  or not 0 < for_s <= MAX_OVERRIDE_S):  # NaN too; before float()
            raise LevelError(f"for_s must be a positive number of seconds, at most {MAX_OVERRIDE_S} "
                             "(366 days); leave it out to hold until released")
        if by is not None and not isinstance(by, str):
            raise LevelError("by must be text (who changed the level)")
        return {**levels.set_level(level, None if for_s is None else float(for_s),
                                   by[:64] if by else None),
                "levels": list(levels.site.levels)}

    return handle
