"""The plate's own coloured panel gives corners where the finder's are off (gateway/plates/panel.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.plates.conftest import MEDIA, need


def _two_row_plate() -> np.ndarray:
    """A yellow two-row plate (2:1) with dark characters and a dark rim, drawn with OpenCV."""
    import cv2

    p = np.zeros((110, 220, 3), np.uint8)
    p[:] = (20, 200, 245)
    cv2.rectangle(p, (2, 2), (217, 107), (10, 10, 10), 2)
    cv2.putText(p, "B", (62, 40), cv2.FONT_HERSHEY_DUPLEX, 1.1, (10, 10, 10), 3)
    cv2.putText(p, "A", (120, 40), cv2.FONT_HERSHEY_DUPLEX, 1.1, (10, 10, 10), 3)
    cv2.putText(p, "12345", (14, 98), cv2.FONT_HERSHEY_DUPLEX, 1.9, (10, 10, 10), 4)
    return p


def _scene_with_plate(quad: np.ndarray, plate: np.ndarray | None = None) -> np.ndarray:
    """``plate`` (default: :func:`_two_row_plate`) warped onto a real street photo at ``quad``
    (lt rt rb lb)."""
    import cv2

    bg = cv2.imdecode(np.fromfile(str(need(MEDIA / "paddledet_road554.png")), np.uint8), cv2.IMREAD_COLOR)
    scene = cv2.resize(bg, (640, 480), interpolation=cv2.INTER_AREA)
    if plate is None:
        plate = _two_row_plate()
    h, w = plate.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(plate, m, (640, 480), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (640, 480), flags=cv2.INTER_NEAREST)
    scene[mask > 0] = warped[mask > 0]
    return scene


TRUE = np.array([[250, 200], [410, 185], [414, 266], [254, 281]], np.float32)  # tilted, 160 px wide


@pytest.mark.parametrize(
    "shift",
    [(16, 0), (-14, 6), (0, -9), (10, 8)],  # a tenth of the width off, as the finder's two-row corners are
)
def test_corners_a_tenth_off_are_found_again_on_the_panel(shift) -> None:
    from gateway.plates.panel import panel_corners

    scene = _scene_with_plate(TRUE)
    off = TRUE + np.array(shift, np.float32)
    # the finder's two-row quadrilaterals are also squarer than the plate is tilted
    off[0, 1] += 6
    off[3, 1] -= 6
    found = panel_corners(scene, off)
    assert found is not None and found.shape == (4, 2) and found.dtype == np.float32
    err_before = np.abs(off - TRUE).max()
    err_after = np.abs(found - TRUE).max()
    assert err_after <= 7.0, (found, err_after)  # within 4.5 % of the width at every corner (rim)
    assert err_after < err_before


def test_no_panel_where_the_colour_runs_past_the_plate() -> None:
    """A plate on a body of its own colour (a yellow truck) has no edge to find: the finder's
    corners stay."""
    from gateway.plates.panel import panel_corners

    scene = np.zeros((480, 640, 3), np.uint8)
    scene[:] = (20, 200, 245)
    assert panel_corners(scene, TRUE) is None


def test_no_panel_on_a_plain_street() -> None:
    import cv2

    from gateway.plates.panel import panel_corners

    bg = cv2.imdecode(np.fromfile(str(need(MEDIA / "paddledet_road554.png")), np.uint8), cv2.IMREAD_COLOR)
    scene = cv2.resize(bg, (640, 480), interpolation=cv2.INTER_AREA)
    assert panel_corners(scene, TRUE) is None


def test_corners_are_ordered_whatever_order_they_come_in() -> None:
    from gateway.plates.panel import order_corners

    rng = np.random.default_rng(5)
    for _ in range(20):
        assert np.array_equal(order_corners(TRUE[rng.permutation(4)]), TRUE)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(8, 200),
    st.integers(8, 200),
    st.lists(st.floats(-300, 500, allow_nan=False), min_size=8, max_size=8),
    st.integers(0, 2**32 - 1),
)
def test_any_image_and_quadrilateral_give_corners_or_none(h, w, coords, seed) -> None:
    from gateway.plates.panel import panel_corners

    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    got = panel_corners(img, np.array(coords, np.float32).reshape(4, 2))
    assert got is None or (got.shape == (4, 2) and np.isfinite(got).all())


def _two_row_from_crop(crop: np.ndarray) -> np.ndarray:
    """A yellow two-row plate (440x220 mm at 1 px/mm) laid out from a real one-row crop's glyphs:
    province and letter on the top row, the five others below (GA 36 places)."""
    import cv2

    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = (g - g.min()) / max(1.0, float(g.max() - g.min()))
    ink = np.clip((g - 0.45) / 0.3, 0, 1)[..., None]  # a blue plate's white characters
    yellow, dark = np.array([20, 200, 245], np.float32), np.array([15, 15, 15], np.float32)
    col = (yellow * (1 - ink) + dark * ink).astype(np.uint8)
    w = col.shape[1]
    plate = np.empty((220, 440, 3), np.uint8)
    plate[:] = yellow.astype(np.uint8)
    plate[15:75, 110:330] = cv2.resize(col[:, : int(w * 0.29)], (220, 60), interpolation=cv2.INTER_LINEAR)
    plate[90:200, 27:413] = cv2.resize(col[:, int(w * 0.33) :], (386, 110), interpolation=cv2.INTER_LINEAR)
    cv2.rectangle(plate, (4, 4), (435, 215), (15, 15, 15), 3)
    return plate


# 皖A22U82 was a fourth until session 26: that session's province reader reads it right from the
# off corners too, so it no longer shows what the panel step adds
@pytest.mark.parametrize("name", ["皖AU369X.jpg", "皖ANT201.jpg", "皖ABC824.jpg"])
def test_a_two_row_plate_whose_corners_are_off_is_read_from_its_panel(name) -> None:
    """With the finder's corners a tenth of the width off, the top row's province is cut and the
    read refused; read again from the panel's corners, it is read exactly."""
    from dataclasses import replace

    from gateway.plates.config import FinderConfig, PlatesConfig
    from gateway.plates.finder import FoundPlate
    from gateway.plates.reader import PlateReader
    from models.plates import split

    crop = split.load_crop_bgr(need(split.DEFAULT_DEV_CROPS / name))
    text = name.removesuffix(".jpg")
    scene = _scene_with_plate(TRUE, _two_row_from_crop(crop))
    off = TRUE + np.array([16, 0], np.float32)
    off[0, 1] += 6
    off[3, 1] -= 6
    found = FoundPlate(0.5, off, (240.0, 180.0, 420.0, 285.0), double_row=True)

    def read(cfg: FinderConfig) -> str | None:
        judged = PlateReader(PlatesConfig(finder=cfg)).warped_read(scene, found, refind=False)
        return judged.observation.text if judged is not None and judged.observation is not None else None

    assert read(FinderConfig()) == text
    assert read(FinderConfig(panel_corners=False)) != text
    # the true corners read it too: the plate, not the panel step, is what is read
    exact = PlateReader(PlatesConfig(finder=FinderConfig(panel_corners=False))).warped_read(
        scene, replace(found, corners=TRUE), refind=False)
    assert exact is not None and exact.observation is not None and exact.observation.text == text


def test_plates_read_says_how_a_two_row_box_was_tried() -> None:
    """`plates read`'s reason for a two-row localizer box names the panel step, or that it is off."""
    from gateway.plates.imagefile import _shape_reason

    on = _shape_reason(47, 22, 47, 22, True, True)
    off = _shape_reason(47, 22, 47, 22, True, False)
    assert on is not None and "panel" in on and "none gave an accepted read" in on
    assert "extended" not in on
    assert off is not None and "plates.finder.panel_corners turns off" in off
    extended = _shape_reason(47, 22, 47, 22, True, True, True)
    assert extended is not None and "extended to the left" in extended and "panel" in extended
    assert _shape_reason(94, 24, 94, 24, False, True) is None


@pytest.mark.parametrize("name", ["皖A22U82.jpg", "皖AU369X.jpg", "皖ANT201.jpg"])
def test_a_localizer_box_short_of_the_province_is_read_extended_to_the_left(name) -> None:
    """A localizer box that stops short of the province character (its boxes often do) gives no
    read; with ``plates.localizer.retry_extends`` it is read again extended to the left, exactly."""
    from gateway.plates.config import LocalizerConfig, PlatesConfig
    from gateway.plates.localizer import PlateBox
    from gateway.plates.reader import PlateReader
    from models.plates import split

    crop = split.load_crop_bgr(need(split.DEFAULT_DEV_CROPS / name))
    text = name.removesuffix(".jpg")
    quad = np.array([[220, 200], [420, 200], [420, 251], [220, 251]], np.float32)  # 200 px, level
    scene = _scene_with_plate(quad, crop)
    # the box covers the plate from its second character on: the province is outside it
    short = PlateBox(268, 200, 420, 251, 0.8, 0.0, "model", 152.0, 51.0)

    def reads(extends: bool) -> list[str]:
        # the finder's corners around the box (retry_corners) would read it too: off, to test this
        reader = PlateReader(PlatesConfig(localizer=LocalizerConfig(retry_extends=extends,
                                                                    retry_corners=False)))
        return [o.text for o in reader._read_candidates(scene, [short], (0, 0), 0.0, False)]

    assert reads(False) == []
    assert reads(True) == [text]
