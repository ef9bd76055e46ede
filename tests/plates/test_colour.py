"""Plate colour: from the type where the format fixes it, else background + text polarity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.colour import PlateColour, plate_colour
from gateway.plates.format import PlateType, classify
from models.plates import split as dsplit
from tests.plates.conftest import DEV_CROPS, SHARED, grey, need


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


# --------------------------------------------------------------- colour consistency (issue 11)
def _dark_text_panel(text: str, bg: tuple[int, int, int]) -> np.ndarray:
    import cv2

    img = np.zeros((60, 300, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, text, (8, 44), cv2.FONT_HERSHEY_DUPLEX, 1.2, (15, 15, 15), 3)
    return img


@pytest.mark.parametrize(
    "ptype", [PlateType.STANDARD, PlateType.COACH, PlateType.TRAILER, PlateType.HONG_KONG]
)
def test_white_dark_text_crop_does_not_fit_a_non_police_type(ptype) -> None:
    from gateway.plates.colour import colour_fits

    assert not colour_fits(_dark_text_panel("AB 12 345", (235, 235, 235)), ptype)


def test_white_crop_fits_police_and_new_energy_and_coloured_crops_fit() -> None:
    from gateway.plates.colour import colour_fits

    white = _dark_text_panel("AB 12 345", (235, 235, 235))
    for ptype in (PlateType.POLICE, PlateType.NEW_ENERGY_SMALL, PlateType.NEW_ENERGY_LARGE, None):
        assert colour_fits(white, ptype)
    assert colour_fits(_panel((200, 70, 15), (245, 245, 245)), PlateType.STANDARD)  # blue
    assert colour_fits(_panel((20, 190, 240), (15, 15, 15)), PlateType.STANDARD)  # yellow
    assert colour_fits(np.zeros((2, 2, 3), np.uint8), PlateType.STANDARD)  # unusable: not judged


def test_every_real_dev_crop_fits_its_type() -> None:
    from gateway.plates.colour import colour_fits

    need(DEV_CROPS)
    bad = [
        f
        for f, t in dsplit.read_labels(DEV_CROPS)
        if not colour_fits(dsplit.load_crop_bgr(DEV_CROPS / f), classify(t))
    ]
    assert bad == []


def test_real_toll_lane_plates_fit_and_the_danish_plate_does_not() -> None:
    """Every toll-lane plate (both sides, cut flat from the finder's corners, the police plate
    included) fits its labelled type; the real Danish plate of paddledet_car.jpg, read as any
    standard mainland text, does not."""
    import cv2

    from gateway.plates.colour import colour_fits, is_monochrome
    from gateway.plates.finder import PlateFinder, rectify
    from models.plates import real_scenes
    from models.plates.evaluate_scenes import _hyperlpr_crop
    from tests.plates.conftest import MEDIA, SHARED

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    finder = PlateFinder()
    labels = [lab for side in real_scenes.split() for lab in side]
    bad = [lab.text for lab in labels if not colour_fits(_hyperlpr_crop(lab, finder)[0], classify(lab.text))]
    assert bad == []
    # a colour camera's frames are never taken for monochrome ones: the rule applies to them all
    assert [lab.text for lab in labels if is_monochrome(real_scenes.load_masked(lab))] == []
    assert is_monochrome(grey(real_scenes.load_masked(labels[0])))
    assert any(classify(lab.text) is PlateType.POLICE for lab in labels)

    img = cv2.imread(str(need(MEDIA / "paddledet_car.jpg")))
    cands = finder.find(img)
    assert cands, "the finder no longer finds the Danish plate: this test needs another foreign plate"
    crop = rectify(img, cands[0].corners, (round(cands[0].width), round(cands[0].height)))
    assert not colour_fits(crop, PlateType.STANDARD)



def test_a_monochrome_frames_crop_is_not_judged_by_colour() -> None:
    """An infrared or black-and-white camera shows a yellow plate as light grey with dark text:
    the colour rule, which refuses white dark-text crops read as non-police types, has no
    colour to judge there and lets the read through; the colour is then unknown (the type
    still fixes a police plate's white)."""
    from gateway.plates.colour import colour_fits, is_monochrome

    yellow = _panel((20, 190, 240), (15, 15, 15))
    white = _dark_text_panel("AB 12 345", (235, 235, 235))
    assert not is_monochrome(yellow) and is_monochrome(grey(yellow))
    assert not colour_fits(white, PlateType.STANDARD)  # in colour: a white plate, not mainland
    for crop in (grey(yellow), white):
        assert colour_fits(crop, PlateType.STANDARD, monochrome=True)
        assert plate_colour(crop, PlateType.STANDARD, monochrome=True) is PlateColour.UNKNOWN
    assert plate_colour(white, PlateType.POLICE, monochrome=True) is PlateColour.WHITE


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(16, 80), w=st.integers(16, 160), seed=st.integers(0, 2**32 - 1),
    share=st.floats(0.05, 1.0),
)
def test_monochrome_means_no_colour_anywhere(h: int, w: int, seed: int, share: float) -> None:
    """Equal channels (give or take a level of rounding) are monochrome; a band of colour over
    5 % of the frame or more is not."""
    from gateway.plates.colour import MONO_STEP, is_monochrome

    rng = np.random.default_rng(seed)
    grey = np.repeat(rng.integers(0, 256, (h, w, 1), dtype=np.uint8), 3, axis=2)
    noisy = np.clip(grey.astype(np.int16) + rng.integers(0, 2, grey.shape), 0, 255).astype(np.uint8)
    assert is_monochrome(grey) and is_monochrome(noisy)
    coloured = grey.copy()
    rows = max(2 * MONO_STEP, int(np.ceil(share * h)))
    top = int(rng.integers(0, h - rows + 1))
    band = coloured[top : top + rows]
    band[..., 0] = np.where(band[..., 1] > 127, 0, 255)  # blue channel far from the others
    assert not is_monochrome(coloured)


# --------------------------------------------------------------- haze and glare (session 16)
@settings(max_examples=150, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(1, 60), st.integers(1, 60),
       st.integers(0, 2**31 - 1))
def test_the_stretch_is_one_map_for_all_channels(a: int, b: int, h: int, w: int, seed: int) -> None:
    from gateway.plates.colour import STRETCH_MIN_RANGE, stretched

    rng = np.random.default_rng(seed)
    img = rng.integers(min(a, b), max(a, b) + 1, (h, w, 3), dtype=np.uint8)
    img[: h // 2, :, 1] = img[: h // 2, :, 0]  # some neutral pixels (equal channels)
    img[: h // 2, :, 2] = img[: h // 2, :, 0]
    out = stretched(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    if int(img.max()) - int(img.min()) < STRETCH_MIN_RANGE:
        assert out is img  # a blank panel is left alone
    # neutral stays neutral, and the order of levels is kept
    top = out[: h // 2]
    assert (top[..., 0] == top[..., 1]).all() and (top[..., 1] == top[..., 2]).all()
    flat_in, flat_out = img.reshape(-1).astype(int), out.reshape(-1).astype(int)
    order = np.argsort(flat_in, kind="stable")
    assert (np.diff(flat_out[order]) >= 0).all()


def test_a_washed_out_yellow_plate_is_yellow_and_a_white_one_stays_white() -> None:
    from gateway.plates.colour import classify_colour, colour_fits

    # a yellow plate with dark text at a third of its contrast under bright haze (airlight 220)
    plate = _dark_text_panel("AB 12 345", (20, 190, 240)).astype(np.float32)
    hazed = (plate * 0.35 + 143).astype(np.uint8)
    assert classify_colour(hazed) is PlateColour.YELLOW
    assert colour_fits(hazed, PlateType.STANDARD)
    # a white panel with dark text, hazed the same way, is still white: not a mainland plate
    white = (_dark_text_panel("AB 12 345", (235, 235, 235)).astype(np.float32) * 0.35 + 143).astype(np.uint8)
    assert classify_colour(white) is PlateColour.WHITE
    assert not colour_fits(white, PlateType.STANDARD)


def test_real_photos_in_haze_are_read_not_refused_on_colour(monkeypatch) -> None:
    """24 real validation toll-lane photos at a third of their contrast under bright haze, every
    read's colour checked (``colour_check_below`` above 1): all read; without the stretch
    (range never reached) the yellow plates among them were refused as white plates."""
    import gateway.plates.colour as colour
    from gateway.plates.config import PlatesConfig, RecognizerConfig
    from gateway.plates.reader import PlateReader
    from models.plates import real_scenes

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    reader = PlateReader(PlatesConfig(recognizer=RecognizerConfig(colour_check_below=1.01)))
    labels = real_scenes.split()[1][:24]
    hazed = [(real_scenes.load_masked(lab).astype(np.float32) * 0.35 + 143).astype(np.uint8)
             for lab in labels]

    def exact() -> int:
        return sum([o.text for o in reader.read_frame(img)][:1] == [lab.text]
                   for img, lab in zip(hazed, labels, strict=True))

    with_stretch = exact()
    monkeypatch.setattr(colour, "STRETCH_MIN_RANGE", float("inf"))
    without = exact()
    print(f"\nhazed real photos read: {with_stretch}/24 with the stretch, {without}/24 without")
    assert with_stretch >= 22
    assert without <= with_stretch - 5


@pytest.mark.parametrize(("weakest", "refused"), [(0.9, True), (0.969, True), (0.97, False), (1.0, False)])
def test_only_reads_not_sure_everywhere_are_refused_on_colour(reader, weakest: float, refused: bool) -> None:
    """A white, dark-text crop read as a standard plate: refused on colour when its weakest
    character is under ``recognizer.colour_check_below`` (0.97), not when the read is surer
    (a pale yellow plate under a cool cast measures white too)."""
    from gateway.plates.recognizer import PlateRead

    crop = _dark_text_panel("AB 12 345", (235, 235, 235))
    text = "苏E12345"
    read = PlateRead(text, (weakest,) + (1.0,) * 6, tuple(((ch, 1.0),) for ch in text))
    reason = reader.rejection(read, crop)
    assert (reason == f"'{text}' is read, but the crop's colours do not fit a standard plate") is refused
    assert refused or reason is None
