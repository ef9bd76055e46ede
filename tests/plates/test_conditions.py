"""The degradations of the chain probe (models/plates/conditions.py): shape kept, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.plates.conditions import CONDITIONS, degrade, main


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(CONDITIONS)), h=st.integers(20, 90), w=st.integers(40, 160),
       seed=st.integers(0, 1000))
def test_every_condition_keeps_the_image_shape_and_is_seeded(name: str, h: int, w: int, seed: int) -> None:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    box = (w // 4, h // 3, w // 2, h // 4)
    out = degrade(name, img, box, seed)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out, degrade(name, img, box, seed))


def test_none_is_the_photo_and_box_conditions_stay_in_the_box() -> None:
    img = np.random.default_rng(1).integers(0, 256, (60, 120, 3), dtype=np.uint8)
    box = (30, 20, 60, 20)
    assert np.array_equal(degrade("none", img, box), img)
    for name in ("shadow_half", "shadow_quarter", "shadow_soft", "tow_bar"):
        out = degrade(name, img, box)
        outside = np.ones(img.shape[:2], bool)
        outside[20:40, 30:90] = False
        assert np.array_equal(out[outside], img[outside]), name
        assert not np.array_equal(out, img), name


def test_an_unknown_condition_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fog_of_war"])
    assert exc.value.code == 2
    assert "unknown condition fog_of_war; known: none, blur" in capsys.readouterr().err
