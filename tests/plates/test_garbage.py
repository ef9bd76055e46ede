"""Garbage in: no plate out, and never an exception."""

from __future__ import annotations

import numpy as np
import pytest

rng = np.random.default_rng(1234)


def _text_image(text: str, size: tuple[int, int] = (60, 300), bg: int = 255, fg: int = 0) -> np.ndarray:
    import cv2

    img = np.full((size[0], size[1], 3), bg, np.uint8)
    cv2.putText(img, text, (5, size[0] - 15), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (fg, fg, fg), 3)
    return img


GARBAGE = {
    "empty": np.zeros((0, 0, 3), np.uint8),
    "empty_rows": np.zeros((0, 50, 3), np.uint8),
    "tiny": np.full((2, 3, 3), 128, np.uint8),
    "1px": np.zeros((1, 1, 3), np.uint8),
    "black_small": np.zeros((24, 94, 3), np.uint8),
    "black_big": np.zeros((480, 640, 3), np.uint8),
    "white": np.full((200, 300, 3), 255, np.uint8),
    "grey_2d": np.full((50, 50), 128, np.uint8),
    "four_channels": np.zeros((40, 120, 4), np.uint8),
    "float": np.zeros((40, 120, 3), np.float32),
    "noise_small": rng.integers(0, 256, (24, 94, 3), dtype=np.uint8),
    "noise_big": rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),
    "text_stop": _text_image("STOP HERE"),
    "text_digits": _text_image("1234567 89"),
    "text_latin_plate": _text_image("AB12 CDE"),  # a UK-style plate text
    "blue_panel": np.dstack(
        [
            np.full((40, 140), 200, np.uint8),
            np.full((40, 140), 60, np.uint8),
            np.full((40, 140), 10, np.uint8),
        ]
    ),
    "stripes": np.tile(np.repeat(np.array([0, 255], np.uint8), 3)[None, :, None], (30, 20, 3)),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_crop_reads_no_plate(reader, name) -> None:
    img = GARBAGE[name]
    assert reader.read_plate_crop(img) is None


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_frame_reads_no_plate(reader, name) -> None:
    img = GARBAGE[name]
    assert reader.read_vehicle(img) == []
    assert reader.read_frame(img) == []
    assert reader.read_vehicle(img, (0, 0, 10, 10)) == []


def test_bad_boxes(reader) -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    for box in [
        (50, 50, 40, 40),
        (-100, -100, -50, -50),
        (0, 0, 0, 0),
        (90, 90, 10_000, 10_000),
        (5, 5, 6, 6),
    ]:
        assert reader.read_vehicle(img, box) == []


def test_none_and_wrong_types(reader) -> None:
    assert reader.read_plate_crop(None) is None  # type: ignore[arg-type]
    assert reader.read_vehicle(None) == []  # type: ignore[arg-type]
    assert reader.read_vehicle("not an image") == []  # type: ignore[arg-type]
    assert reader.locate(np.zeros((0, 0, 3), np.uint8)) == []


def test_garbage_is_handled_without_internal_failures() -> None:
    """Bad input is rejected up front, not by exceptions caught deep in the stage."""
    from gateway.plates.reader import PlateReader

    r = PlateReader()
    for img in GARBAGE.values():
        r.read_plate_crop(img)
        r.read_vehicle(img)
        r.read_frame(img)
        r.locate(img)
    assert r.errors == 0
