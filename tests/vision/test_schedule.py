"""Active hours and alert levels: windows in site time, the level controller, armed rules.

The must-hold: the same sample video replayed with its frame time set to 02:00 and to 14:00
gives intrusion events only in the armed window (clock injected through the file source's
start time, no sleeping), and a level change takes effect on the next frame.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.camera.frame import Frame
from gateway.config import ConfigError, parse_config
from gateway.vision.config import DetectorConfig, VisionCameraConfig
from gateway.vision.events import VisionEvent, ZoneIntrusion
from gateway.vision.pipeline import CameraPipeline
from gateway.vision.schedule import (
    LevelController,
    LevelError,
    SiteConfig,
    TimeWindow,
    in_windows,
    level_command,
)
from tests.vision.conftest import PERSON_VIDEO

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Site time in the week of Monday 2026-11-30: day 0 = mon ... 6 = sun."""
    return datetime(2026, 11, 30, hh, mm, tzinfo=SHANGHAI) + timedelta(days=day)


def test_window_across_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = TimeWindow(start=clock(22), end=clock(6), days=("fri",))
    assert friday_night.contains(at(4, 23))  # fri 23:00
    assert friday_night.contains(at(5, 5, 59))  # sat 05:59: still Friday's window
    assert not friday_night.contains(at(5, 6))  # sat 06:00: end is exclusive
    assert not friday_night.contains(at(3, 23))  # thu 23:00
    assert not friday_night.contains(at(4, 5))  # fri 05:00 belongs to Thursday's window
    assert friday_night.contains(at(4, 22))  # start is inclusive


def test_day_window_and_empty_list() -> None:
    office = TimeWindow(start=clock(8, 30), end=clock(17), days=("mon", "tue", "wed", "thu", "fri"))
    assert office.contains(at(0, 9)) and not office.contains(at(5, 9)) and not office.contains(at(0, 17))
    assert in_windows((), at(2, 3))  # no windows: always armed
    assert not in_windows((office,), at(0, 20))


@given(start=st.integers(0, 1439), end=st.integers(0, 1439), now=st.integers(0, 1439))
def test_daily_window_agrees_with_minute_arithmetic(start: int, end: int, now: int) -> None:
    if start == end:
        with pytest.raises(ValidationError):
            TimeWindow(start=clock(start // 60, start % 60), end=clock(end // 60, end % 60))
        return
    window = TimeWindow(start=clock(start // 60, start % 60), end=clock(end // 60, end % 60))
    expected = start <= now < end if start < end else (now >= start or now < end)
    assert window.contains(at(2, now // 60, now % 60)) == expected


def test_site_config_refuses_unknown_zone_and_undeclared_levels() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        SiteConfig(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="not declared"):
        SiteConfig(levels=("normal",), level_schedule=[
            {"start": "18:00", "end": "06:00", "level": "heightened"}])
    with pytest.raises(ValidationError, match="without an offset"):
        TimeWindow(start="19:00+08:00", end="06:00")


def test_camera_levels_must_be_declared_by_the_site() -> None:
    cam = {"source": {"uri": "x.mp4"}, "detector": {"model": "m.tflite"},
           "level_overrides": {"heightened": {"min_score": 0.3}}}
    with pytest.raises(ConfigError, match="does not declare"):
        parse_config({"cameras": {"gate": cam}})
    cfg = parse_config({"cameras": {"gate": cam}, "site": {"levels": ["normal", "heightened"]}})
    assert cfg.cameras["gate"].for_level("heightened").detector.min_score == 0.3
    assert cfg.cameras["gate"].detector.min_score == 0.5  # the loaded config is untouched


def test_a_timed_override_is_bounded_and_the_state_always_renders() -> None:
    # found by probing (session 41): for_s = Infinity (edgepost cmd ... for_s=Infinity, or a CBOR
    # float) was accepted, and every retained state from then on raised OverflowError
    from gateway.vision.schedule import MAX_OVERRIDE_S

    levels = LevelController(SiteConfig(levels=("normal", "heightened")), clock=lambda: 1.8e9)
    handler = level_command(levels)
    for bad in (float("inf"), float("nan"), 1e300, 10**400, 0, -5, MAX_OVERRIDE_S + 1):
        with pytest.raises(LevelError, match="at most 31622400"):
            handler({"level": "heightened", "for_s": bad})
        assert levels.state() == {"level": "normal", "source": "default"}
    state = handler({"level": "heightened", "for_s": MAX_OVERRIDE_S})
    assert state["until"] == int((1.8e9 + MAX_OVERRIDE_S) * 1000)
    assert handler({"level": "heightened"})["source"] == "operator"  # no for_s: until released


def test_level_controller_schedule_override_and_expiry() -> None:
    now = [datetime(2026, 12, 5, 12, tzinfo=SHANGHAI).timestamp()]  # a Saturday noon
    site = SiteConfig(timezone="Asia/Shanghai", levels=("normal", "heightened"),
                      level_schedule=[{"start": "20:00", "end": "06:00", "days": ["sat"],
                                       "level": "heightened"}])
    levels = LevelController(site, clock=lambda: now[0])
    night = datetime(2026, 12, 5, 23, tzinfo=SHANGHAI).timestamp()
    assert levels.level_at(now[0]) == "normal" and levels.level_at(night) == "heightened"
    assert levels.state() == {"level": "normal", "source": "default"}
    changes: list[int] = []
    levels.on_change = lambda: changes.append(1)
    state = levels.set_level("heightened", for_s=60, by="duty")
    assert state["level"] == "heightened" and state["source"] == "operator" and state["by"] == "duty"
    assert levels.level_at(now[0]) == "heightened" and changes == [1]
    now[0] += 61  # the operator's hour is over: back to the schedule
    assert levels.level_at(now[0]) == "normal" and levels.state()["source"] == "default"
    with pytest.raises(LevelError, match="unknown level 'panic'"):
        levels.set_level("panic")
    handler = level_command(levels)
    assert handler({})["levels"] == ["normal", "heightened"]
    assert handler({"level": "heightened"})["level"] == "heightened"
    assert handler({"level": None})["source"] == "default"
    with pytest.raises(LevelError):
        handler({"level": "normal", "for_s": "soon"})


# --------------------------------------------------------------------------- on the video
def night_zone_camera(shared: Path, ssd: DetectorConfig, start: str) -> VisionCameraConfig:
    """The whole view is a shoreline zone armed from 19:00 to 06:00 (site time)."""
    return VisionCameraConfig.model_validate({
        "source": {"uri": str(shared / PERSON_VIDEO), "pacing": "fast", "start_time": start},
        "detector": ssd.model_dump(),
        "schedule": {"motion_interval_s": 1.0, "refresh_interval_s": 1.5},
        "rules": {"classes": ["person"], "enter_exit": False,
                  "zones": [{"name": "shore", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]],
                             "intrusion": True, "hours": [{"start": "19:00", "end": "06:00"}]}]},
        "tamper": {"enabled": False},
    })


FIRST_PERSON_FRAMES = 200  # 20 s: the first person walks in at ~6.5 s and stands until ~19.5 s


@pytest.mark.parametrize(("start", "armed"), [("2026-12-01T02:00:00+08:00", True),
                                               ("2026-12-01T14:00:00+08:00", False)])
def test_replay_at_two_in_the_morning_alarms_and_at_two_in_the_afternoon_not(
        shared: Path, ssd_config: DetectorConfig, start: str, armed: bool) -> None:
    events: list[VisionEvent] = []
    site = SiteConfig(timezone="Asia/Shanghai")
    pipe = CameraPipeline("shore", night_zone_camera(shared, ssd_config, start), events.append,
                          site=site)
    pipe.run(max_frames=FIRST_PERSON_FRAMES)
    intrusions = [e for e in events if isinstance(e, ZoneIntrusion)]
    assert pipe.health()["detector_runs"] > 0
    if armed:
        assert len(intrusions) == 1, f"one person in the armed zone, got {intrusions}"
        when = datetime.fromtimestamp(intrusions[0].wall, SHANGHAI)
        assert when.hour == 2 and 5 <= when.minute * 60 + when.second <= 12, when
    else:
        assert intrusions == [], "the zone is disarmed at 14:00"
        assert pipe.health()["tracks_confirmed"] >= 1  # the person was seen all the same


def test_zone_armed_at_dusk_alarms_for_whoever_is_inside(
        shared: Path, ssd_config: DetectorConfig) -> None:
    """Replay from 18:59:48: the person (in view from ~6.5 s) is inside when the zone arms at 19:00."""
    events: list[VisionEvent] = []
    pipe = CameraPipeline("shore", night_zone_camera(shared, ssd_config,
                                                     "2026-12-01T18:59:48+08:00"),
                          events.append, site=SiteConfig(timezone="Asia/Shanghai"))
    pipe.run(max_frames=FIRST_PERSON_FRAMES)
    intrusions = [e for e in events if isinstance(e, ZoneIntrusion)]
    assert len(intrusions) == 1
    when = datetime.fromtimestamp(intrusions[0].wall, SHANGHAI)
    assert when.hour == 19 and when.second <= 2, f"alarm at arming, got {when}"


class _FakeDetector:
    """Stands in for the TFLite model only to make this frame-by-frame test fast; it returns
    one fixed person box with a score between the two levels' thresholds."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.runtime = "test"
        self.last_times: dict[str, float] = {}

    def detect(self, image: object) -> list:  # type: ignore[type-arg]
        from gateway.vision.detection import Detection

        return [Detection((0.4, 0.4, 0.6, 0.9), 0.4, 0, "person")]


def test_level_change_takes_effect_on_the_next_frame() -> None:
    import numpy as np

    site = SiteConfig(levels=("normal", "heightened"))
    levels = LevelController(site)
    cam = VisionCameraConfig.model_validate({
        "source": {"uri": "unused.mp4"}, "detector": {"model": "unused.tflite", "min_score": 0.5},
        "motion": {"enabled": False}, "tamper": {"enabled": False},
        "rules": {"classes": ["person"], "enter_exit": False,
                  "zones": [{"name": "yard", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]],
                             "intrusion": True}]},
        "level_overrides": {"heightened": {"min_score": 0.3}}})
    events: list[VisionEvent] = []
    pipe = CameraPipeline("gate", cam, events.append, detector=_FakeDetector(),  # type: ignore[arg-type]
                          site=site, level=levels.level_at)
    img = np.full((120, 160, 3), 128, np.uint8)
    wall = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    for i in range(5):
        pipe.process(Frame(img, i, i * 0.1, wall + i * 0.1, 0.0))
    assert pipe.level == "normal" and not events  # 0.4 < 0.5: nothing at the normal level
    levels.set_level("heightened")
    pipe.process(Frame(img, 5, 0.5, wall + 0.5, 0.0))
    assert pipe.level == "heightened" and pipe.cfg.detector.min_score == 0.3
    pipe.process(Frame(img, 6, 0.6, wall + 0.6, 0.0))  # two hits confirm the track
    assert [type(e) for e in events] == [ZoneIntrusion]
    assert cam.detector.min_score == 0.5 and pipe.base_cfg is cam  # nothing was mutated


def test_reconfigure_swaps_a_validated_config_and_refuses_a_new_model() -> None:
    import numpy as np

    from gateway.strict import revalidated
    from gateway.vision.pipeline import ReconfigureError

    cam = VisionCameraConfig.model_validate({
        "source": {"uri": "unused.mp4"}, "detector": {"model": "unused.tflite", "min_score": 0.3},
        "motion": {"enabled": False}, "tamper": {"enabled": False},
        "rules": {"classes": ["person"], "enter_exit": False}})
    events: list[VisionEvent] = []
    pipe = CameraPipeline("gate", cam, events.append, detector=_FakeDetector())  # type: ignore[arg-type]
    img = np.full((120, 160, 3), 128, np.uint8)
    pipe.process(Frame(img, 0, 0.0, 1e9, 0.0))
    zone = {"name": "yard", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "intrusion": True}
    edited = revalidated(cam, rules=revalidated(cam.rules, zones=[zone]))
    pipe.reconfigure(edited)
    pipe.process(Frame(img, 1, 0.1, 1e9 + 0.1, 0.0))
    assert [type(e) for e in events] == [ZoneIntrusion] and pipe.cfg is edited
    with pytest.raises(ReconfigureError, match="restart"):
        other = DetectorConfig.model_validate({**cam.detector.model_dump(), "model": "other.tflite"})
        pipe.reconfigure(revalidated(cam, detector=other))
