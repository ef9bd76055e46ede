"""Must-hold: one person track per person who walks through one-by-one-person-detection.mp4.

Counted by hand from frames extracted every second (contact sheets of the 1394 frames at
10 fps): six people walk in from the bottom-left, stand at the high table in the middle and
leave to the right, one at a time. Their shadows sweep over the floor at the bottom-left
before each entrance and after each exit (e.g. frames 60, 200, 700, 870, 1200, 1360) and must
not become tracks.

    #  who                                   in view (s)
    1  woman, grey cardigan, blonde           ~6.5 - ~19.5
    2  man, black jacket                      ~23  - ~44.5
    3  woman, long blonde hair, black outfit  ~51  - ~69.5
    4  man, black T-shirt, glasses            ~75  - ~86.5
    5  woman, dark hair, grey cardigan        ~93  - ~119.5
    6  man, grey shirt, jeans                 ~124 - ~135.5
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.camera.config import CameraSourceConfig, PacingMode
from gateway.vision.config import (
    DetectorConfig,
    RulesConfig,
    ScheduleConfig,
    VisionCameraConfig,
)
from gateway.vision.events import ObjectEnter, ObjectExit, VisionEvent
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import PERSON_VIDEO

# (enter, exit) in seconds of video, from the hand count above.
PEOPLE = [(6.5, 19.5), (23.0, 44.5), (51.0, 69.5), (75.0, 86.5), (93.0, 119.5), (124.0, 135.5)]
# Detection runs at most once a second while something moves, and the tracker needs two hits
# to confirm and max_age_s of silence to end a track: allow that much slack on the times.
SLACK_S = 3.5


def person_camera(shared: Path, ssd: DetectorConfig) -> VisionCameraConfig:
    return VisionCameraConfig(
        source=CameraSourceConfig(uri=str(shared / PERSON_VIDEO), pacing=PacingMode.FAST),
        detector=ssd,
        schedule=ScheduleConfig(motion_interval_s=1.0, refresh_interval_s=1.5),
        rules=RulesConfig(classes=["person"]),
    )


@pytest.fixture(scope="module")
def run(shared: Path, ssd_config: DetectorConfig) -> tuple[list[VisionEvent], dict]:
    events: list[VisionEvent] = []
    pipe = CameraPipeline("hall", person_camera(shared, ssd_config), events.append)
    pipe.run()
    return events, pipe.health()


def test_one_track_per_person(run: tuple[list[VisionEvent], dict]) -> None:
    events, health = run
    enters = [e for e in events if isinstance(e, ObjectEnter)]
    exits = [e for e in events if isinstance(e, ObjectExit)]
    assert [e.label for e in enters] == ["person"] * len(PEOPLE)
    assert len(exits) == len(PEOPLE)
    assert health["tracks_confirmed"] == len(PEOPLE)
    # each track: exactly one enter and one exit
    assert sorted(e.track_id for e in enters) == sorted(e.track_id for e in exits)
    assert len({e.track_id for e in enters}) == len(PEOPLE)


def test_times_match_hand_count(run: tuple[list[VisionEvent], dict]) -> None:
    events, _ = run
    by_track: dict[int, dict[str, float]] = {}
    for e in events:
        if isinstance(e, ObjectEnter):
            by_track.setdefault(e.track_id or 0, {})["in"] = e.t
        elif isinstance(e, ObjectExit):
            by_track.setdefault(e.track_id or 0, {})["out"] = e.t
            assert e.dwell_s == pytest.approx(e.t - e.first_t)
    spans = sorted((v["in"], v["out"]) for v in by_track.values())
    for (t_in, t_out), (want_in, want_out) in zip(spans, PEOPLE, strict=True):
        assert abs(t_in - want_in) <= SLACK_S, (t_in, want_in)
        assert abs(t_out - want_out) <= SLACK_S, (t_out, want_out)


def test_gate_keeps_detector_cheap(run: tuple[list[VisionEvent], dict]) -> None:
    _, health = run
    assert health["frames"] == 1394
    # The detector ran on a small fraction of frames; the rest were gated.
    assert health["detector_runs"] < health["frames"] / 5
    assert health["gated"] + health["detector_runs"] == health["frames"]
    assert health["source"]["ended"] is True
    assert health["corrupt_frames"] == 0
