"""The recognizer's occlusion augmentation (models/plates/occlusion.py): what each kind does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.plates.occlusion import bar, glare, hard_shadow, occluded

GREY = np.full((32, 96, 3), 160, np.uint8)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_shadows_and_bars_only_darken_and_glare_only_brightens(seed: int) -> None:
    for f, darker in ((hard_shadow, True), (bar, True), (glare, False)):
        out = f(GREY, np.random.default_rng(seed))
        assert out.shape == GREY.shape and out.dtype == np.uint8
        changed = out != GREY
        assert changed.any(), f.__name__
        assert (out[changed] < 160).all() if darker else (out[changed] > 160).all(), f.__name__


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_bar_lies_across_the_lower_characters_and_a_shadow_keeps_one_side_lit(seed: int) -> None:
    out = bar(GREY, np.random.default_rng(seed))
    rows = np.flatnonzero((out != GREY).any(axis=(1, 2)))
    assert rows.min() >= 32 * 0.45 - 0.22 * 32 / 2 - 1 and rows.max() <= 31
    assert len(rows) <= round(0.22 * 32) + 1
    shadow = hard_shadow(GREY, np.random.default_rng(seed))
    assert (shadow == 160).any() and (shadow < 160).any()


def test_only_the_chosen_images_change_and_a_seed_repeats() -> None:
    x = np.stack([GREY] * 6)
    which = np.array([True, False, True, False, False, True])
    out = occluded(x, which, np.random.default_rng(3))
    assert [not np.array_equal(out[i], GREY) for i in range(6)] == list(which)
    assert np.array_equal(out, occluded(x, which, np.random.default_rng(3)))
    assert np.array_equal(x, np.stack([GREY] * 6))  # the input is not written


def test_the_kinds_can_be_narrowed_and_an_unknown_kind_is_refused() -> None:
    x = np.stack([GREY] * 40)
    out = occluded(x, np.ones(40, bool), np.random.default_rng(5), ("shadow",))
    # a shadow keeps one side lit: every image has untouched pixels, none is brightened
    assert all((img == 160).any() and (img < 160).any() and not (img > 160).any() for img in out)
    with pytest.raises(ValueError, match="shadow, bar, glare"):
        occluded(x, np.ones(40, bool), np.random.default_rng(5), ("shade",))
