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


def test_evaluate_scenes_degrades_only_the_plate_of_scenes_that_know_it() -> None:
    from models.plates.evaluate_scenes import Sample, conditioned

    img = np.full((60, 120, 3), 200, np.uint8)
    corners = np.array([[30.2, 20.5], [89.6, 20.1], [89.9, 39.4], [30.0, 39.8]], np.float32)
    known = Sample("provinces", "a", img, "皖A12345", "blue", 60.0, corners=corners)
    unknown = Sample("real", "b", img, "皖A12345", "blue", 60.0)
    out = list(conditioned(iter([unknown, known]), "tow_bar"))
    assert [s.name for s in out] == ["a"]
    changed = np.argwhere((out[0].image != img).any(axis=2))
    assert changed.size and changed[:, 0].min() >= 20 and changed[:, 0].max() < 40
    assert changed[:, 1].min() >= 30 and changed[:, 1].max() < 90
    with pytest.raises(SystemExit, match="unknown condition fog"):
        list(conditioned(iter([known]), "fog"))


def test_a_missing_recognizer_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["none", "--recognizer", "/nonexistent/candidate.tflite"])
    assert exc.value.code == 2
    assert "--recognizer /nonexistent/candidate.tflite: no such file" in capsys.readouterr().err
