"""Tracker and zone/line rules on scripted detections (geometry is exact, so are the asserts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gateway.camera import read_image
from gateway.vision.config import (
    CropConfig,
    LineConfig,
    RulesConfig,
    TrackerConfig,
    ZoneConfig,
)
from gateway.vision.detection import Detection
from gateway.vision.render import annotate, crop_jpeg
from gateway.vision.rules import Rules
from gateway.vision.tracker import Tracker


def box_at(cx: float, cy: float, w: float = 0.1, h: float = 0.2) -> tuple[float, ...]:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def det(cx: float, cy: float, label: str = "person", score: float = 0.8) -> Detection:
    return Detection(box_at(cx, cy), score, 0, label)  # type: ignore[arg-type]


def test_tracker_one_enter_one_exit_and_noise_dropped() -> None:
    tr = Tracker(TrackerConfig(min_hits=2, max_age_s=2.0))
    confirmed, ended = [], []
    for i in range(10):  # walks right at 0.05 per 0.5 s
        up = tr.update([det(0.2 + 0.05 * i, 0.5)], i * 0.5)
        confirmed += up.confirmed
        ended += up.ended
    up = tr.update([det(0.9, 0.1)], 5.0)  # a one-off false positive far away
    up = tr.update([], 6.0)
    up = tr.update([], 7.5)
    ended += up.ended
    assert [t.track_id for t in confirmed] == [1]
    assert [t.track_id for t in ended] == [1]
    assert tr.tracks == []
    assert ended[0].dwell_s == pytest.approx(4.5)
    assert ended[0].velocity[0] == pytest.approx(0.1, abs=0.01)


def test_fast_object_followed_between_sparse_detections() -> None:
    # Moves a full box height between detections: IoU with the last box is 0, but the
    # velocity prediction keeps the id.
    tr = Tracker(TrackerConfig())
    for i in range(6):
        tr.update([Detection((0.4, 0.8 - 0.2 * i, 0.6, 1.0 - 0.2 * i), 0.7, 0, "car")], i * 0.5)
    assert [t.track_id for t in tr.tracks] == [1]
    assert tr.tracks[0].hits == 6


def run_rules(cfg: RulesConfig, path: list[tuple[float, float]], dt: float = 0.5):
    tracker, rules = Tracker(TrackerConfig(min_hits=2)), Rules(cfg)
    outs = []
    for i, (x, y) in enumerate(path):
        tracker.update([det(x, y)], i * dt)
        outs.append(rules.update(tracker.tracks, i * dt))
    return tracker, rules, outs


LINE = LineConfig(name="gate", a=(0.5, 0.0), b=(0.5, 1.0), inbound_side=(1.0, 0.5))


def test_line_crossing_direction_and_jitter() -> None:
    cfg = RulesConfig(classes=["person"], lines=[LINE])
    # left -> right (inbound), then hovering on the line (jitter inside hysteresis), then back
    path = [(0.3, 0.5), (0.4, 0.5), (0.49, 0.5), (0.51, 0.5), (0.49, 0.5), (0.51, 0.5),
            (0.6, 0.5), (0.6, 0.5), (0.55, 0.5), (0.5, 0.5), (0.45, 0.5), (0.4, 0.5)]
    tracker, _, outs = run_rules(cfg, path)
    hits = [(i, h.direction) for i, o in enumerate(outs) for h in o.line_hits]
    assert hits == [(6, "inbound"), (10, "outbound")]
    assert tracker.total_confirmed == 1


def test_finite_line_not_crossed_beside_its_end() -> None:
    short = LINE.model_copy(update={"a": (0.5, 0.0), "b": (0.5, 0.3)})
    _, _, outs = run_rules(RulesConfig(classes=["person"], lines=[short]),
                           [(0.3, 0.6), (0.4, 0.6), (0.6, 0.6), (0.7, 0.6)])
    assert not [h for o in outs for h in o.line_hits]


def test_zone_intrusion_loitering_and_required_zone() -> None:
    shore = ZoneConfig(name="shore", polygon=[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)],
                       intrusion=True, loiter_s=2.0)
    cfg = RulesConfig(classes=["person"], zones=[shore], require_zones=["shore"])
    path = [(0.3, 0.4), (0.4, 0.4), (0.5, 0.4), (0.6, 0.4), (0.62, 0.4), (0.63, 0.4),
            (0.64, 0.4), (0.65, 0.4), (0.66, 0.4), (0.67, 0.4)]
    tracker, rules, outs = run_rules(cfg, path)
    hits = [(i, z.kind, z.zone) for i, o in enumerate(outs) for z in o.zone_hits]
    # anchor enters at step 2 (t=1.0, on the zone's edge); loitering 2 s later, once per visit
    assert hits == [(2, "intrusion", "shore"), (6, "loitering", "shore")]
    st = rules.state(tracker.tracks[0])
    assert st.eligible and st.zones_seen == ["shore"]


def test_not_eligible_without_required_zone() -> None:
    shore = ZoneConfig(name="shore", polygon=[(0.8, 0.0), (1.0, 0.0), (1.0, 1.0), (0.8, 1.0)])
    cfg = RulesConfig(classes=["person"], zones=[shore], require_zones=["shore"], lines=[LINE])
    tracker, rules, outs = run_rules(cfg, [(0.3, 0.5), (0.4, 0.5), (0.6, 0.5), (0.7, 0.5)])
    assert not rules.state(tracker.tracks[0]).eligible
    assert not [h for o in outs for h in o.line_hits]  # crossing ignored outside the filter


def test_crowd_threshold_fires_once() -> None:
    plaza = ZoneConfig(name="plaza", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)], crowd_threshold=3)
    tracker, rules = Tracker(TrackerConfig(min_hits=1)), Rules(RulesConfig(zones=[plaza]))
    fired = []
    for step, n in enumerate([2, 3, 3, 2, 3]):
        tracker.update([det(0.1 + 0.2 * k, 0.5) for k in range(n)], step * 0.5)
        fired += [(step, c.count) for c in rules.update(tracker.tracks, step * 0.5).crowd_hits]
    assert fired[:2] == [(1, 3), (4, 3)] or fired == [(1, 3)]
    assert fired[0] == (1, 3)


def test_crop_is_bounded_and_annotation_draws(shared: Path) -> None:
    image = read_image(shared / "media/images/darknet_person.jpg")
    jpeg = crop_jpeg(image, (0.1, 0.1, 0.9, 0.9), CropConfig(enabled=True, max_bytes=4000))
    assert jpeg is not None and jpeg[:3] == b"\xff\xd8\xff" and len(jpeg) <= 4000
    assert crop_jpeg(image, (0.5, 0.5, 0.5, 0.5), CropConfig(enabled=True)) is None
    tracker = Tracker(TrackerConfig(min_hits=1))
    tracker.update([det(0.3, 0.5)], 0.0)
    tracker.update([det(0.4, 0.5)], 0.5)
    zone = ZoneConfig(name="z", polygon=[(0, 0), (0.5, 0), (0.5, 0.5)])
    out = annotate(image, tracks=tracker.tracks, zones=[zone], lines=[LINE], caption="test")
    assert out.shape == image.shape
    assert np.count_nonzero(np.any(out != image, axis=2)) > 1000


def test_zones_lines_and_vertices_are_bounded() -> None:
    # every track is tested against every vertex on every frame (in Python), and the page lets
    # an operator save any list: the configuration bounds what it accepts (session 41)
    from pydantic import ValidationError

    def ring(n: int) -> list[list[float]]:
        return [[0.5 + 0.4 * np.cos(2 * np.pi * i / n), 0.5 + 0.4 * np.sin(2 * np.pi * i / n)]
                for i in range(n)]

    assert len(ZoneConfig(name="z", polygon=ring(100)).polygon) == 100
    with pytest.raises(ValidationError, match="at most 100 items"):
        ZoneConfig(name="z", polygon=ring(101))
    zones = [{"name": f"z{i}", "polygon": ring(3)} for i in range(33)]
    assert len(RulesConfig(zones=zones[:32]).zones) == 32
    with pytest.raises(ValidationError, match="at most 32 items"):
        RulesConfig(zones=zones)
    lines = [{"name": f"l{i}", "a": [0.1, 0.5], "b": [0.9, 0.5], "inbound_side": [0.5, 0.9]}
             for i in range(33)]
    assert len(RulesConfig(lines=lines[:32]).lines) == 32
    with pytest.raises(ValidationError, match="at most 32 items"):
        RulesConfig(lines=lines)
