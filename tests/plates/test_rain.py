"""The simulated rain of ``evaluate_scenes --rain``: deterministic per seed, and rain-like."""

from __future__ import annotations

import numpy as np

from models.plates.rain import rainy


def test_rain_is_seeded_keeps_the_frame_and_lowers_contrast() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    a, b, c = rainy(img, seed=7), rainy(img, seed=7), rainy(img, seed=8)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # the veil and the blur pull pixels together; the streaks are bright
    assert a.std() < img.std()
    dark = np.zeros((200, 200, 3), np.uint8)
    wet = rainy(dark, seed=1, veil=0.0)
    assert (wet.max(axis=2) > 20).mean() > 0.02  # streaks on a black scene (a few % of it)
    assert rainy(dark, seed=1, density=0.0, veil=0.0).max() == 0  # no rain, no change
