"""Plate colour: from the type where the format fixes it, else background + text polarity."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.plates.colour import PlateColour, plate_colour
from gateway.plates.format import PlateType, classify
from models.plates import split as dsplit
from tests.plates.conftest import DEV_CROPS, need


def _panel(bg: tuple[int, int, int], fg: tuple[int, int, int]) -> np.ndarray:
    import cv2

    img = np.zeros((48, 188, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, "A 12345", (8, 38), cv2.FONT_HERSHEY_DUPLEX, 1.2, fg, 3)
    return img


@pytest.mark.parametrize(
    ("bg", "fg", "colour"),
    [
        ((200, 70, 15), (245, 245, 245), PlateColour.BLUE),
        ((20, 190, 240), (15, 15, 15), PlateColour.YELLOW),
        ((25, 25, 25), (240, 240, 240), PlateColour.BLACK),
        ((120, 170, 200), (20, 20, 20), PlateColour.YELLOW),  # washed-out yellow under a cast
    ],
)
def test_standard_plate_colours(bg, fg, colour) -> None:
    assert plate_colour(_panel(bg, fg), PlateType.STANDARD) is colour


def test_type_fixes_colour() -> None:
    img = _panel((200, 70, 15), (245, 245, 245))
    assert plate_colour(img, PlateType.POLICE) is PlateColour.WHITE
    assert plate_colour(img, PlateType.NEW_ENERGY_SMALL) is PlateColour.GREEN
    assert plate_colour(img, PlateType.HONG_KONG) is PlateColour.BLACK
    assert plate_colour(np.zeros((2, 2, 3), np.uint8), None) is PlateColour.UNKNOWN


def test_real_crops() -> None:
    need(DEV_CROPS)
    rows = dsplit.read_labels(DEV_CROPS)
    got = {f: plate_colour(dsplit.load_crop_bgr(DEV_CROPS / f), classify(t)) for f, t in rows}
    assert got["_1_皖KD01833.jpg"] is PlateColour.GREEN
    assert got["_8_冀D5L690.jpg"] is PlateColour.YELLOW
    small = [c for f, c in got.items() if not f.startswith("_")]
    assert sum(c in (PlateColour.BLUE, PlateColour.YELLOW) for c in small) >= 0.97 * len(small)
