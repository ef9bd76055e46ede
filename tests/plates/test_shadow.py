"""Hard shadows across a plate evened out before it is read (gateway/plates/shadow.py).

The rule on synthetic arrays (hypothesis), then real training-side toll-lane plates from ../shared
under the probe's hard half shadow, read by the real recognizer with and without it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gateway.plates.shadow import (
    LEVEL_PERCENTILE,
    MAX_GAIN,
    SHADOW_RATIO,
    SMOOTH_SHARE,
    column_levels,
    even_out,
)
from tests.plates.conftest import SHARED, need


def _plate(rng: np.random.Generator, h: int = 32, w: int = 96) -> np.ndarray:
    """A blue plate-like RGB array: dark blue ground, the white frame line of a blue plate along
    its top and bottom, white strokes in every character cell."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = (20, 50, 160)
    img[1:3] = img[h - 3 : h - 1] = 235
    for x0 in range(4, w - 8, w // 8):
        img[6 : h - 6, x0 : x0 + 3] = 235
        img[6:9, x0 : x0 + 8] = 235
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), light=st.floats(0.5, 1.0))
def test_an_evenly_lit_plate_is_left_alone(seed: int, light: float) -> None:
    plate = _plate(np.random.default_rng(seed)) * light
    assert even_out(plate) is None
    assert even_out(plate[None]) is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.3, 0.6), dark=st.floats(0.28, 0.38))
def test_a_hard_shadow_is_evened_out(seed: int, share: float, dark: float) -> None:
    plate = _plate(np.random.default_rng(seed))
    shadowed = plate.copy()
    edge = int(plate.shape[1] * share)
    shadowed[:, :edge] *= dark
    out = even_out(shadowed[None])
    assert out is not None and out.shape == (1, *plate.shape) and out.dtype == np.float32
    levels = column_levels(out[0])
    # away from the shadow's edge (the level is smoothed over a character pitch) every column is
    # back near the lit part's level
    far = np.r_[0 : max(1, edge - 12), min(plate.shape[1], edge + 12) : plate.shape[1]]
    assert levels[far].min() >= 0.8 * levels.max()
    # the lit part is left as it was, but for the noise in its own level
    assert np.allclose(out[0][:, edge + 12 :], shadowed[:, edge + 12 :], rtol=0.03, atol=0.5)


@settings(max_examples=100, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 120), st.just(3))))
def test_the_column_level_is_numpys_percentile_smoothed(a: np.ndarray) -> None:
    import cv2

    grey = a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    level = np.percentile(grey, LEVEL_PERCENTILE, axis=0).astype(np.float32)
    k = max(3, round(a.shape[1] * SMOOTH_SHARE)) | 1
    expected = cv2.blur(level[None, :], (k, 1))[0]
    assert np.allclose(column_levels(a), expected, atol=1e-3)


@settings(max_examples=200, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(0, 40), st.integers(0, 120), st.sampled_from([1, 3, 4]))))
def test_any_array_gives_none_or_a_bounded_array_of_its_shape(a: np.ndarray) -> None:
    out = even_out(a)
    if out is None:
        return
    assert out.shape == a.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    assert (out <= a.astype(np.float32) * MAX_GAIN + 1e-3).all()
    assert column_levels(a).min() < SHADOW_RATIO * column_levels(a).max()


def test_real_plates_under_a_hard_shadow_read_better_evened() -> None:
    """30 training-side toll-lane photos with the probe's hard shadow over the plate's left half,
    each plate warped from the finder's corners and read by the recognizer alone, evening off and
    on; the same photos unshadowed read alike either way."""
    from gateway.plates.finder import PlateFinder, rectify
    from gateway.plates.recognizer import PlateRecognizer
    from models.plates import real_scenes
    from models.plates.conditions import degrade

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    finder = PlateFinder()
    plain, evened = PlateRecognizer(even_shadows=False), PlateRecognizer()
    counts = {"off": 0, "on": 0, "clean off": 0, "clean on": 0}
    for i, label in enumerate(real_scenes.split()[0][:30]):
        x, y, w, h = label.box
        for cond, prefix in (("shadow_half", ""), ("none", "clean ")):
            img = degrade(cond, real_scenes.load_masked(label), label.box, seed=i)
            found = [p for p in finder.find(img)
                     if x <= p.corners[:, 0].mean() <= x + w and y <= p.corners[:, 1].mean() <= y + h]
            if not found:
                continue
            flat = rectify(img, found[0].corners, (round(found[0].width), round(found[0].height)))
            counts[prefix + "off"] += plain.read(flat).text == label.text
            counts[prefix + "on"] += evened.read(flat).text == label.text
    print(f"\nshadowed / clean plates read right, evening off and on: {counts}")
    assert counts["on"] >= counts["off"] + 4, counts
    assert counts["clean on"] == counts["clean off"] >= 27, counts
