"""A glare across part of a plate lifted off before it is read (gateway/plates/glare.py).

The rule on synthetic arrays (hypothesis), then real training-side toll-lane plates from ../shared
under the probe's glare, read by the real recognizer with and without it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gateway.plates.glare import DARK_PERCENTILE, GLARE_RISE, lift_glare
from gateway.plates.shadow import column_levels
from tests.plates.test_shadow import _plate


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), light=st.floats(0.5, 1.0))
def test_an_evenly_lit_plate_is_left_alone(seed: int, light: float) -> None:
    plate = _plate(np.random.default_rng(seed)) * light
    assert lift_glare(plate) is None
    assert lift_glare(plate[None]) is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.4, 0.7), glare=st.floats(90, 130))
def test_a_glare_is_lifted_off(seed: int, share: float, glare: float) -> None:
    plate = _plate(np.random.default_rng(seed))
    lit = plate.copy()
    edge = int(plate.shape[1] * share)
    lit[:, edge:] = np.clip(lit[:, edge:] + glare, 0, 255)
    out = lift_glare(lit[None])
    assert out is not None and out.shape == (1, *plate.shape) and out.dtype == np.float32
    far = np.r_[0 : max(1, edge - 12), min(plate.shape[1], edge + 12) : plate.shape[1]]
    dark = column_levels(out[0], DARK_PERCENTILE)
    assert float(dark[far].max() - dark[far].min()) < GLARE_RISE / 2, "the floor is level again"
    # the glared part keeps its characters: bright strokes stand above the ground again
    glared = out[0][:, edge + 12 :].mean(axis=2)
    assert glared.max() - glared.min() > 60


@settings(max_examples=200, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(0, 40), st.integers(0, 120), st.sampled_from([1, 3, 4]))))
def test_any_array_gives_none_or_a_bounded_array_of_its_shape(a: np.ndarray) -> None:
    out = lift_glare(a)
    if out is None:
        return
    assert out.shape == a.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    dark = column_levels(a, DARK_PERCENTILE)
    assert dark.max() - dark.min() >= GLARE_RISE


def test_real_plates_under_glare_read_better_lifted() -> None:
    """The 112 training-side toll-lane photos with the probe's glare beside the plate, each plate
    warped from the finder's corners and read by the recognizer alone, with and without lifting;
    the same photos without glare read alike either way."""
    from gateway.plates.config import FinderConfig
    from gateway.plates.finder import PlateFinder, rectify
    from gateway.plates.recognizer import PlateRecognizer
    from models.plates import real_scenes
    from models.plates.conditions import degrade
    from tests.plates.conftest import SHARED, need

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    finder = PlateFinder()
    margins = (FinderConfig().margin_x, FinderConfig().margin_y)  # as the reader warps a plate
    plain, lifted = PlateRecognizer(lift_glare=False), PlateRecognizer(lift_glare=True)
    counts = {"off": 0, "on": 0, "clean off": 0, "clean on": 0}
    for i, label in enumerate(real_scenes.split()[0]):
        x, y, w, h = label.box
        for cond, prefix in (("glare", ""), ("none", "clean ")):
            img = degrade(cond, real_scenes.load_masked(label), label.box, seed=i)
            found = [p for p in finder.find(img)
                     if x <= p.corners[:, 0].mean() <= x + w and y <= p.corners[:, 1].mean() <= y + h]
            if not found:
                continue
            flat = rectify(img, found[0].corners, (round(found[0].width), round(found[0].height)), margins)
            counts[prefix + "off"] += plain.read(flat).text == label.text
            counts[prefix + "on"] += lifted.read(flat).text == label.text
    print(f"\nglared / clean plates read right, lifting off and on: {counts}")
    assert counts["on"] >= counts["off"] + 12, counts  # 52 against 35 when written
    assert counts["clean on"] == counts["clean off"] >= 105, counts
