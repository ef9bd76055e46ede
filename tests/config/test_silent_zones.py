"""Zones and lines that could never fire are refused: they are shares of the frame, finite, a zone
has an inside, and what they watch is tracked.

Found by probing (session 42): a zone drawn in pixel coordinates by mistake ([640, 360]), one with
a NaN vertex (valid TOML, and what the page's JSON parser lets through), one whose vertices lie on
one line, or one watching a class the camera does not track ('persons') was accepted, and then
its intrusion alarms never fired, and nothing said so.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.vision.config import MIN_ZONE_AREA, LineConfig, RulesConfig, VisionCameraConfig, ZoneConfig

SQUARE = [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]


@pytest.mark.parametrize(("polygon", "why"), [
    ([[0, 0], [640, 0], [640, 360]], "not a share of the frame"),
    ([[0.1, 0.1], [0.9, 0.1], [0.5, math.nan]], "finite number"),
    ([[0.1, 0.1], [0.9, 0.1], [0.5, math.inf]], "finite number"),
    ([[-1.5, 0.1], [0.9, 0.1], [0.5, 0.9]], "not a share of the frame"),
    ([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], "has no area"),
    ([[0.3, 0.3], [0.3, 0.3], [0.3, 0.3]], "has no area"),
])
def test_a_zone_nothing_could_be_inside_is_refused(polygon: list[list[float]], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        ZoneConfig(name="shore", polygon=polygon, intrusion=True)


def test_line_points_are_shares_of_the_frame_too() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        LineConfig(name="road", a=(0.0, 0.5), b=(1.0, math.nan), inbound_side=(0.5, 1.0))
    with pytest.raises(ValidationError, match="not a share of the frame"):
        LineConfig(name="road", a=(0, 360), b=(1280, 360), inbound_side=(640, 720))


#: mostly in the frame, so that both answers are drawn often
COORDINATE = st.floats(-1.0, 2.0) | st.floats(0.0, 1.0) | st.floats(allow_nan=True, allow_infinity=True)


def _twice_area(polygon: list[tuple[float, float]]) -> float:
    return sum(x0 * y1 - x1 * y0
               for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(COORDINATE, COORDINATE), min_size=3, max_size=8))
def test_a_zone_is_accepted_exactly_when_it_is_in_the_frame_and_has_an_inside(
        polygon: list[tuple[float, float]]) -> None:
    in_frame = all(math.isfinite(v) and -1.0 <= v <= 2.0 for p in polygon for v in p)
    try:
        zone = ZoneConfig(name="z", polygon=polygon)
    except ValidationError:
        assert not in_frame or abs(_twice_area(polygon)) < 2 * MIN_ZONE_AREA
    else:
        assert in_frame and abs(_twice_area(list(zone.polygon))) >= 2 * MIN_ZONE_AREA


def test_a_drawn_zone_is_still_accepted_and_may_reach_past_the_edge() -> None:
    assert len(ZoneConfig(name="shore", polygon=SQUARE).polygon) == 4
    edge = [[-0.05, 0.6], [1.05, 0.6], [1.05, 1.05], [-0.05, 1.05]]  # the bottom band, edges covered
    assert ZoneConfig(name="band", polygon=edge).polygon[0] == (-0.05, 0.6)


def test_a_zone_or_line_watching_an_untracked_class_is_refused() -> None:
    zone = {"name": "shore", "polygon": SQUARE, "intrusion": True, "classes": ["persons"]}
    with pytest.raises(ValidationError, match=r"zone 'shore' watches \['persons'\], which rules.classes"):
        RulesConfig(classes=("person", "car"), zones=(zone,))
    line = {"name": "gate", "a": (0, 0.5), "b": (1, 0.5), "inbound_side": (0.5, 1), "classes": ["bus"]}
    with pytest.raises(ValidationError, match=r"line 'gate' watches \['bus'\]"):
        RulesConfig(classes=("person", "car"), lines=(line,))
    RulesConfig(classes=("person", "car"), zones=({**zone, "classes": ["person"]},))
    with pytest.raises(ValidationError, match=r"level_overrides.night.zones.shore watches \['dog'\]"):
        VisionCameraConfig(source={"uri": "v4l2:///dev/video0"}, detector={"model": "m.tflite"},
                           rules={"classes": ["person"], "zones": [{**zone, "classes": ["person"]}]},
                           level_overrides={"night": {"zones": {"shore": {"classes": ["dog"]}}}})
