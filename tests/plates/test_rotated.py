"""Tilted plates in stills: the image turned back by 30 degrees either way when nothing else read.

Real toll-lane photos from ../shared turned by 38 degrees (the plate with them), the real models.
"""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.imagefile import read_still
from gateway.plates.rotated import SEARCH_LONG_SIDE, box_back, fitted, turn
from tests.plates.conftest import SHARED, need

SCENES = SHARED / "plates" / "real_scenes_hyperlpr"
TEXT = "沪D49228"  # a training-side toll-lane photo: read level, not read turned 38 degrees either way
# (since session 16 it is read at -35 degrees as it is: a tilted one-row plate's corners can be as
# narrow as a two-row plate's, and the reader now also reads it as one row)


@settings(max_examples=80, deadline=None)
@given(w=st.integers(16, 400), h=st.integers(16, 300), deg=st.floats(-60, 60),
       fx=st.floats(0, 0.8), fy=st.floats(0, 0.8), fw=st.floats(0.05, 0.2), fh=st.floats(0.05, 0.2))
def test_a_box_mapped_back_from_the_turned_canvas_holds_the_original(
        w: int, h: int, deg: float, fx: float, fy: float, fw: float, fh: float) -> None:
    frame = np.zeros((h, w, 3), np.uint8)
    canvas, m = turn(frame, deg)
    # the whole frame fits on the canvas
    corners = np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64)
    on = cv2.transform(corners, m)[0]
    assert on.min() >= -1 and on[:, 0].max() <= canvas.shape[1] + 1 and on[:, 1].max() <= canvas.shape[0] + 1
    box = (int(fx * w), int(fy * h), int((fx + fw) * w) + 1, int((fy + fh) * h) + 1)
    pts = cv2.transform(np.array([[[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]],
                                 np.float64), m)[0]
    lo, hi = np.floor(pts.min(axis=0)).astype(int), np.ceil(pts.max(axis=0)).astype(int)
    there = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
    back = box_back(there, m, w, h)
    assert back[0] <= box[0] + 1 and back[1] <= box[1] + 1
    assert back[2] >= min(w, box[2]) - 1 and back[3] >= min(h, box[3]) - 1
    assert 0 <= back[0] <= back[2] <= w and 0 <= back[1] <= back[3] <= h


def test_a_plate_tilted_38_degrees_is_read_in_the_turned_image() -> None:
    """The turned search on its own: without the panel corners (panel.py), which can read a plate
    this tilted unturned and would hide what the turned search does."""
    from gateway.plates.config import FinderConfig, PlatesConfig
    from gateway.plates.reader import PlateReader
    from models.plates import real_scenes

    reader = PlateReader(PlatesConfig(finder=FinderConfig(panel_corners=False)))

    need(SCENES / "labels.csv")
    (label,) = [lab for lab in real_scenes.read_labels() if lab.text == TEXT]
    photo = real_scenes.load_masked(label)
    x, y, pw, ph = label.box
    for deg in (38, -38):
        tilted, m = turn(photo, deg)
        cx, cy = cv2.transform(np.array([[[x + pw / 2, y + ph / 2]]], np.float64), m)[0, 0]
        assert TEXT not in [o.text for o in reader.read_frame(tilted)], "read level: pick a harder photo"
        assert read_still(reader, tilted) == ([], None), "without turning, nothing"
        reads, note = read_still(reader, tilted, turn_degrees=30)
        assert [o.text for o in reads][:1] == [TEXT], deg
        assert note == "read in the image turned by 30 degrees either way"
        b = reads[0].box
        assert b is not None and b[0] <= cx <= b[2] and b[1] <= cy <= b[3], (b, cx, cy)


@settings(max_examples=100, deadline=None)
@given(w=st.integers(1, 3000), h=st.integers(1, 3000), long_side=st.integers(8, 1500))
def test_a_still_is_searched_as_a_copy_no_longer_than_the_search_size(w: int, h: int, long_side: int) -> None:
    frame = np.zeros((h, w, 3), np.uint8)
    small, scale = fitted(frame, long_side)
    if max(w, h) <= long_side:
        assert small is frame and scale == 1.0
        return
    assert max(small.shape[:2]) <= long_side and max(small.shape[:2]) >= long_side - 1
    assert scale == long_side / max(w, h)
    assert abs(small.shape[1] - w * scale) <= 1 and abs(small.shape[0] - h * scale) <= 1


def test_a_large_tilted_photo_is_read_turned_with_its_box_in_the_photo() -> None:
    """The same photo enlarged 2.5 times and turned 38 degrees: a 2200 px canvas that the turned
    search looks at as a copy of at most SEARCH_LONG_SIDE px; the box comes back in the large
    photo's own pixels, around the plate."""
    from gateway.plates.config import FinderConfig, PlatesConfig
    from gateway.plates.reader import PlateReader
    from models.plates import real_scenes

    reader = PlateReader(PlatesConfig(finder=FinderConfig(panel_corners=False)))
    need(SCENES / "labels.csv")
    (label,) = [lab for lab in real_scenes.read_labels() if lab.text == TEXT]
    photo = cv2.resize(real_scenes.load_masked(label), None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    x, y, pw, ph = (v * 2.5 for v in label.box)
    tilted, m = turn(photo, 38)
    assert max(tilted.shape[:2]) > 1.5 * SEARCH_LONG_SIDE, "the photo must be larger than the search's copy"
    cx, cy = cv2.transform(np.array([[[x + pw / 2, y + ph / 2]]], np.float64), m)[0, 0]
    reads, note = read_still(reader, tilted, turn_degrees=30)
    assert [o.text for o in reads][:1] == [TEXT]
    assert note == "read in the image turned by 30 degrees either way"
    b = reads[0].box
    assert b is not None and b[0] <= cx <= b[2] and b[1] <= cy <= b[3], (b, cx, cy)
    assert b[2] - b[0] >= 0.6 * pw, "the box is in the large photo's pixels, not the copy's"
