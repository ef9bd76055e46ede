"""A camera whose plates all lean: ``plates.plate_tilt`` turns each look back by that much.

A real toll-lane photo from ../shared turned by 38 degrees (the plate with it), the real models:
read as it is the plate is missed; with the camera's tilt set (or set 8 degrees off) it is read,
and every box comes back in the frame's own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from gateway.plates.config import PlatesConfig
from gateway.plates.reader import PlateReader
from gateway.plates.rotated import turn
from tests.plates.conftest import SHARED, need

SCENES = SHARED / "plates" / "real_scenes_hyperlpr"
TEXT = "沪D49228"  # read level; at +38 degrees missed as it is (tests/plates/test_rotated.py)
DEGREES = 38.0


@pytest.fixture(scope="module")
def tilted() -> tuple[np.ndarray, tuple[float, float], float]:
    """The photo turned by DEGREES, where the plate's centre landed, and the plate's width."""
    from models.plates import real_scenes

    need(SCENES / "labels.csv")
    (label,) = [lab for lab in real_scenes.read_labels() if lab.text == TEXT]
    photo = real_scenes.load_masked(label)
    x, y, pw, ph = label.box
    image, m = turn(photo, DEGREES)
    cx, cy = cv2.transform(np.array([[[x + pw / 2, y + ph / 2]]], np.float64), m)[0, 0]
    return image, (float(cx), float(cy)), float(pw)


def _holds(box: tuple[int, int, int, int] | None, point: tuple[float, float]) -> bool:
    return box is not None and box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def test_plates_of_a_tilted_camera_are_read_with_its_tilt_set(tilted) -> None:
    image, centre, _ = tilted
    h, w = image.shape[:2]
    assert TEXT not in [o.text for o in PlateReader().read_frame(image)], "read as it is: pick a harder photo"
    for setting in (DEGREES, 30.0):  # the camera's tilt, and a setting 8 degrees off it
        sight = PlateReader(PlatesConfig(plate_tilt=setting)).inspect_frame(image)
        assert [o.text for o in sight.reads][:1] == [TEXT], setting
        assert _holds(sight.reads[0].box, centre), (setting, sight.reads[0].box, centre)
        # how far it leans in the frame, whatever the setting: what a technician would set. The
        # finder's corners on a real plate are good to a few degrees (31-32 here for a plate
        # turned 38 that measures -1 level); the setting itself tolerates 10
        assert sight.reads[0].tilt is not None and abs(sight.reads[0].tilt - DEGREES) < 8, sight.reads[0]
        for c in sight.candidates:  # frame pixels, not the turned canvas's
            assert 0 <= c.box[0] <= c.box[2] <= w and 0 <= c.box[1] <= c.box[3] <= h
        assert any(_holds(c.box, centre) for c in sight.candidates)


def test_a_vehicle_box_is_turned_back_too(tilted) -> None:
    image, (cx, cy), pw = tilted
    h, w = image.shape[:2]
    # a vehicle-like box about the plate: three plate widths across, the plate in its lower part
    box = (int(cx - 1.5 * pw), int(cy - 1.6 * pw), int(cx + 1.5 * pw), int(cy + 0.6 * pw))
    level = PlateReader().inspect_vehicle(image, box)
    assert TEXT not in [o.text for o in level.reads], "read as it is: pick a harder photo"
    sight = PlateReader(PlatesConfig(plate_tilt=DEGREES)).inspect_vehicle(image, box)
    assert [o.text for o in sight.reads][:1] == [TEXT]
    assert _holds(sight.reads[0].box, (cx, cy))
    assert all(0 <= c.box[0] <= c.box[2] <= w and 0 <= c.box[1] <= c.box[3] <= h for c in sight.candidates)


@pytest.mark.parametrize("value", [-45.1, 46, 90])
def test_a_tilt_past_45_degrees_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="plate_tilt"):
        PlatesConfig(plate_tilt=value)


def test_plate_read_reports_how_far_the_plate_leans(tilted, tmp_path) -> None:
    """`edgepost plates read` tells a technician the angle to set: the level photo's plate leans
    a degree or two, the turned one about 38 (read there by the still's own turned search; the
    corners are good to a few degrees, as above)."""
    import json

    from models.plates import real_scenes
    from tests.cli.test_plates_read import edgepost

    (label,) = [lab for lab in real_scenes.read_labels() if lab.text == TEXT]
    cv2.imwrite(str(tmp_path / "level.png"), real_scenes.load_masked(label))
    cv2.imwrite(str(tmp_path / "turned.png"), tilted[0])
    res = edgepost("plates", "read", "--json", str(tmp_path / "level.png"), str(tmp_path / "turned.png"))
    assert res.returncode == 0, res.stderr
    level, turned = (json.loads(line)["plates"][0] for line in res.stdout.splitlines()[:2])
    assert level["text"] == turned["text"] == TEXT
    assert abs(level["tilt"]) < 4 and abs(turned["tilt"] - DEGREES) < 8, (level, turned)
