"""Localizer boxes that gave no read are tried again: as first located, and from the finder's
corners in a cut around them (gateway/plates/reader.py; MODEL_CARD.md, "Session 23")."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.plates.conftest import need
from tests.plates.test_panel import _scene_with_plate

if TYPE_CHECKING:
    from gateway.plates.voting import PlateObservation

#: a plate 200 px wide, tilted by about 4 degrees
QUAD = np.array([[220, 200], [420, 185], [424, 236], [224, 251]], np.float32)


def _scene(name: str) -> tuple[np.ndarray, str]:
    from models.plates import split

    crop = split.load_crop_bgr(need(split.DEFAULT_DEV_CROPS / name))
    return _scene_with_plate(QUAD, crop), name.removesuffix(".jpg")


@pytest.mark.parametrize("name", ["皖A22U82.jpg", "皖AU369X.jpg", "皖ANT201.jpg"])
def test_a_box_off_the_plate_is_read_from_the_corners_found_around_it(name) -> None:
    """A localizer box over the plate's right part and below it (as its boxes on tilted plates
    are) gives no read; with ``plates.localizer.retry_corners`` the vehicle finder finds the
    plate's corners in a cut around the box and the plate is read exactly."""
    from gateway.plates.config import LocalizerConfig, PlatesConfig
    from gateway.plates.localizer import PlateBox
    from gateway.plates.reader import PlateReader

    scene, text = _scene(name)
    off = PlateBox(300, 215, 440, 262, 0.8, 0.0, "model", 140.0, 47.0)

    def reads(corners: bool, minimum: float = 0.95) -> list[PlateObservation]:
        config = PlatesConfig(localizer=LocalizerConfig(retry_extends=False, retry_corners=corners,
                                                        retry_min_confidence=minimum))
        return PlateReader(config)._read_candidates(scene, [off], (0, 0), 0.0, False)

    assert reads(False) == []
    found = reads(True)
    assert [o.text for o in found] == [text]
    # a read of the retry is kept only from retry_min_confidence on
    assert reads(True, minimum=min(1.0, found[0].confidence + 1e-6)) == []


def test_a_box_with_no_plate_around_it_stays_unread() -> None:
    """The retry reads only what the finder finds around the box: a box on the empty road reads
    nothing with it on."""
    from gateway.plates.config import PlatesConfig
    from gateway.plates.localizer import PlateBox
    from gateway.plates.reader import PlateReader

    scene, _ = _scene("皖A22U82.jpg")
    road = PlateBox(40, 380, 180, 427, 0.8, 0.0, "model", 140.0, 47.0)
    assert PlateReader(PlatesConfig())._read_candidates(scene, [road], (0, 0), 0.0, False) == []


class _ShiftingRefiner:
    """A stand-in for the localizer's zoomed second pass that moves each box most of its width to
    the right, off the plate, as the real pass now and then cuts a character off."""

    @staticmethod
    def refine(box):
        shift = int((box.x1 - box.x0) * 0.6)
        return replace(box, x0=box.x0 + shift, x1=box.x1 + shift)


def test_a_refined_box_that_reads_nothing_is_read_as_first_located() -> None:
    """With ``plates.localizer.retry_unrefined`` a refined box that gives no read is read as the
    localizer first located it."""
    from gateway.plates.config import FinderConfig, LocalizerConfig, PlatesConfig
    from gateway.plates.reader import PlateReader

    scene, text = _scene("皖AWU124.jpg")

    def reads(unrefined: bool, floor: float = 0.9) -> list[PlateObservation]:
        config = PlatesConfig(
            finder=FinderConfig(refind=False),
            localizer=LocalizerConfig(retry_unrefined=unrefined, retry_trims=False, retry_extends=False,
                                      retry_corners=False, classical_fallback=False,
                                      unrefined_min_confidence=floor),
        )
        reader = PlateReader(config)
        # the real localizer locates; only its refinement is replaced
        reader._refine = lambda crop, box, rank: _ShiftingRefiner.refine(box)  # type: ignore[method-assign]
        return reader._read_region(scene, scene, (0, 0), 320, 0.0, None)

    assert reads(False) == []
    found = reads(True)
    assert [o.text for o in found] == [text]
    # kept from plates.localizer.unrefined_min_confidence on, not below it
    assert [o.text for o in reads(True, floor=found[0].confidence)] == [text]
    assert reads(True, floor=min(1.0, found[0].confidence + 1e-6)) == []


class _CountingFinder:
    """The real vehicle finder, counting its calls (the close-up look is what is counted)."""

    def __init__(self, finder) -> None:
        self.finder, self.calls = finder, 0

    def find(self, img):
        self.calls += 1
        return self.finder.find(img)


@pytest.mark.parametrize(("width", "looked_again"), [(64, True), (180, False)])
def test_a_small_plate_is_looked_at_again_close_up_even_when_sure(width, looked_again) -> None:
    """A found plate narrower than ``plates.finder.refind_below_width`` is found again close up
    even when its first read is sure; a larger one only when not sure. The scene is a real
    training-side toll-lane photo scaled so that its plate is ``width`` px wide."""
    import cv2

    from gateway.plates.config import FinderConfig, PlatesConfig
    from gateway.plates.reader import PlateReader
    from models.plates import real_scenes

    need(real_scenes.DEFAULT_SCENES / "labels.csv")
    label = next(lb for lb in real_scenes.split()[0] if lb.text == "沪A85J08")
    photo = real_scenes.load_masked(label)
    scale = width / label.box[2]
    scene = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

    def look(below: float) -> tuple[list[str], int]:
        reader = PlateReader(PlatesConfig(finder=FinderConfig(refind_below_width=below)))
        counting = _CountingFinder(reader.vehicle_finder)
        reader.vehicle_finder = counting  # type: ignore[assignment]
        return [o.text for o in reader.read_frame(scene)], counting.calls

    off, on = look(0.0), look(80.0)
    assert off[0] == on[0] == [label.text]  # read surely either way
    assert off[1] == 0
    assert (on[1] > 0) is looked_again
