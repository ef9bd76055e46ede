"""Confidence calibration of the recognizer (per-position temperatures) and two-row layout."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gateway.plates.charset import NUM_CLASSES


def _probs(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


LOGITS = arrays(np.float32, (24, NUM_CLASSES), elements=st.floats(-8, 8, width=32))


@settings(max_examples=150, deadline=None)
@given(LOGITS, st.floats(1.0, 5.0), st.floats(1.0, 5.0))
def test_temperature_changes_confidence_never_text(logits, t_first, t_other) -> None:
    from gateway.plates.recognizer import ctc_decode

    probs = _probs(logits)
    plain = ctc_decode(probs)
    warm = ctc_decode(probs, temperatures=(t_first, t_other))
    assert warm.text == plain.text
    assert len(warm.char_conf) == len(plain.char_conf)
    # softening never makes the argmax character more probable than before
    for a, b in zip(warm.char_conf, plain.char_conf, strict=True):
        assert a <= b + 1e-6
        assert a >= 1.0 / NUM_CLASSES - 1e-6  # still the peak frame's top class


def test_calibration_file_is_read_beside_the_model(tmp_path) -> None:
    import shutil

    from gateway.plates.recognizer import (
        DEFAULT_RECOGNIZER,
        PlateRecognizer,
        calibration_path,
        load_calibration,
    )

    model = tmp_path / "rec.tflite"
    shutil.copyfile(DEFAULT_RECOGNIZER, model)
    assert load_calibration(model) == (1.0, 1.0)  # no file: raw softmax
    calibration_path(model).write_text(json.dumps({"temperature_first": 2.5, "temperature_other": 1.25}))
    assert PlateRecognizer(model).temperatures == (2.5, 1.25)


def test_committed_recognizer_has_a_fitted_calibration() -> None:
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER, calibration_path

    data = json.loads(calibration_path(DEFAULT_RECOGNIZER).read_text(encoding="utf-8"))
    assert 0.5 <= data["temperature_first"] <= 6 and 0.5 <= data["temperature_other"] <= 6
    # the fit must not be worse than the raw model on its own calibration data
    assert data["nll_first"]["fitted"] <= data["nll_first"]["t1"]
    assert data["nll_other"]["fitted"] <= data["nll_other"]["t1"]


def test_fit_finds_the_temperature_that_generated_the_data() -> None:
    from models.plates.calibrate import fit

    rng = np.random.default_rng(0)
    true_t = 2.0
    pairs = []
    for _ in range(3000):
        logits = rng.normal(0, 3, NUM_CLASSES)
        p = _probs((logits / true_t)[None])[0]  # labels drawn from the tempered distribution
        y = int(rng.choice(NUM_CLASSES, p=p))
        pairs.append((np.log(_probs(logits[None])[0]), y))
    t, nll1, nll = fit(pairs)
    assert abs(t - true_t) <= 0.25, t
    assert nll < nll1


def test_two_row_plate_is_laid_out_as_one_row() -> None:
    from gateway.plates.finder import ROW_SPLIT, merge_rows

    h, w = 100, 200
    flat = np.zeros((h, w, 3), np.uint8)
    flat[: int(h * ROW_SPLIT)] = 200  # top row bright
    flat[int(h * ROW_SPLIT) :] = 50  # bottom row dark
    out = merge_rows(flat)
    assert out.shape[0] == h - int(h * ROW_SPLIT)
    assert out.shape[1] > w  # top characters placed before the bottom row
    top_w = out.shape[1] - w
    assert (out[:, :top_w] == 200).all() and (out[:, top_w:] == 50).all()
