"""Must-hold: every car crossing a line across the lane in car-detection.mp4 is one event.

Counted by hand from frames extracted every 6th frame (12.5 fps, 377 frames): four cars drive
through the parking lane seen from above, and each crosses the middle of the picture.

    #  car                     in view (s)    moves        crosses y=0.5 (s)  direction
    1  white hatchback         ~4.8 - ~8.3    bottom->top  ~6.5               inbound
    2  silver estate           ~14.7 - ~18.3  top->bottom  ~16.5              outbound
    3  red saloon              ~15.4 - ~18.7  bottom->top  ~17               inbound
    4  white sports car        ~25.4 - ~27.8  top->bottom  ~26.6              outbound

The line runs across the picture at y = 0.5; its inbound side is the top (away from the
camera). COCO SSD calls these cars "cell phone", "suitcase" or "parking meter" from this
angle, so the camera aliases those labels to "car".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.camera.config import CameraSourceConfig, PacingMode
from gateway.vision.config import (
    DetectorConfig,
    LineConfig,
    RulesConfig,
    ScheduleConfig,
    VisionCameraConfig,
)
from gateway.vision.events import LineCrossing, ObjectEnter, ObjectExit, VisionEvent
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import CAR_VIDEO

CROSSINGS = [(6.5, "inbound"), (16.5, "outbound"), (17.0, "inbound"), (26.6, "outbound")]
SLACK_S = 1.0

OVERHEAD_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


def lane_camera(shared: Path, ssd: DetectorConfig) -> VisionCameraConfig:
    return VisionCameraConfig(
        source=CameraSourceConfig(uri=str(shared / CAR_VIDEO), pacing=PacingMode.FAST),
        detector=ssd.model_copy(update={"min_score": 0.4}),
        schedule=ScheduleConfig(motion_interval_s=0.25),
        rules=RulesConfig(
            classes=["car"],
            class_aliases=OVERHEAD_ALIASES,
            lines=[LineConfig(name="lane", a=(0.0, 0.5), b=(1.0, 0.5), inbound_side=(0.5, 0.0))],
        ),
    )


@pytest.fixture(scope="module")
def run(shared: Path, ssd_config: DetectorConfig) -> tuple[list[VisionEvent], dict]:
    events: list[VisionEvent] = []
    pipe = CameraPipeline("lane", lane_camera(shared, ssd_config), events.append)
    pipe.run()
    return events, pipe.health()


def test_one_crossing_per_car_with_direction(run: tuple[list[VisionEvent], dict]) -> None:
    events, _ = run
    crossings = [e for e in events if isinstance(e, LineCrossing)]
    assert [(c.direction, c.line, c.label) for c in crossings] == [
        (d, "lane", "car") for _, d in CROSSINGS
    ]
    for c, (t, _) in zip(crossings, CROSSINGS, strict=True):
        assert abs(c.t - t) <= SLACK_S, (c.t, t)
    # four different cars, one crossing each
    assert len({c.track_id for c in crossings}) == 4


def test_enter_exit_carry_direction(run: tuple[list[VisionEvent], dict]) -> None:
    events, health = run
    enters = [e for e in events if isinstance(e, ObjectEnter)]
    exits = [e for e in events if isinstance(e, ObjectExit)]
    assert len(enters) == len(exits) == 4
    assert health["tracks_confirmed"] == 4
    assert [e.direction for e in sorted(exits, key=lambda e: e.first_t)] == [
        d for _, d in CROSSINGS
    ]
    assert all(e.lines == ["lane"] for e in exits)


def test_without_aliases_the_model_sees_no_cars(shared: Path, ssd_config: DetectorConfig) -> None:
    cfg = lane_camera(shared, ssd_config)
    cfg = cfg.model_copy(update={"rules": cfg.rules.model_copy(update={"class_aliases": {}})})
    events: list[VisionEvent] = []
    pipe = CameraPipeline("lane", cfg, events.append)
    pipe.run(max_frames=120)  # the first car (frames 60-105)
    assert not [e for e in events if isinstance(e, LineCrossing)]
