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
    assert data["nll_province"]["prior_divided_out"] <= data["nll_province"]["with_prior"]


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


PRIOR = arrays(np.float64, (31,), elements=st.floats(-3, 3))


@settings(max_examples=150, deadline=None)
@given(LOGITS, PRIOR)
def test_province_prior_moves_only_which_province(logits, prior) -> None:
    from gateway.plates.charset import PROVINCES
    from gateway.plates.recognizer import ctc_decode

    probs = _probs(logits)
    plain = ctc_decode(probs, temperatures=(1.1, 1.1))
    fixed = ctc_decode(probs, temperatures=(1.1, 1.1), province_prior=prior)
    assert len(fixed.text) == len(plain.text)
    assert fixed.text[1:] == plain.text[1:] and fixed.char_conf[1:] == plain.char_conf[1:]
    if not plain.text or plain.text[0] not in PROVINCES:
        assert fixed == plain  # no province read: nothing to divide out
        return
    assert fixed.text[0] in PROVINCES
    # the read province is the one whose probability over exp(prior) is largest
    first = dict(fixed.alternatives[0])
    assert first[fixed.text[0]] == fixed.char_conf[0]


def test_province_prior_turns_a_tie_against_the_favoured_province() -> None:
    from gateway.plates.charset import CHAR_TO_INDEX, NUM_CLASSES, PROVINCES
    from gateway.plates.recognizer import ctc_decode

    # one character whose peak frame holds 皖 0.5 and 浙 0.45: a model that learnt a 皖 prior
    probs = np.full((3, NUM_CLASSES), 1e-4)
    probs[[0, 2], 0] = 1.0  # blanks around it
    probs[1, CHAR_TO_INDEX["皖"]], probs[1, CHAR_TO_INDEX["浙"]] = 0.5, 0.45
    probs /= probs.sum(axis=1, keepdims=True)
    plain = ctc_decode(probs)
    assert plain.text == "皖"
    prior = np.zeros(len(PROVINCES))
    prior[PROVINCES.index("皖")] = 0.3  # the model over-predicts 皖 by e^0.3 = 1.35x
    read = ctc_decode(probs, province_prior=prior)
    assert read.text == "浙"
    # the chance that the character is a province at all is unchanged
    def both(r) -> float:
        return sum(p for ch, p in r.alternatives[0] if ch in "皖浙")

    assert abs(both(read) - both(plain)) < 0.01


def test_province_prior_is_read_beside_the_model(tmp_path) -> None:
    import shutil

    from gateway.plates.charset import PROVINCES
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER, PlateRecognizer, calibration_path

    model = tmp_path / "rec.tflite"
    shutil.copyfile(DEFAULT_RECOGNIZER, model)
    calibration_path(model).write_text(json.dumps({"temperature_first": 1.0, "temperature_other": 1.0}))
    assert PlateRecognizer(model).province_prior is None  # an older file: no prior
    prior = {ch: (1.0 if ch == "皖" else 0.0) for ch in PROVINCES}
    calibration_path(model).write_text(
        json.dumps({"temperature_first": 1.0, "temperature_other": 1.0, "province_log_prior": prior}))
    got = PlateRecognizer(model).province_prior
    assert got is not None and abs(got.mean()) < 1e-9  # stored centred
    assert int(np.argmax(got)) == PROVINCES.index("皖") and abs(got.max() - got.min() - 1.0) < 1e-9


def test_fit_finds_the_province_prior_that_generated_the_data() -> None:
    from gateway.plates.charset import CHAR_TO_INDEX, PROVINCES
    from models.plates.calibrate import fit_province_prior

    rng = np.random.default_rng(1)
    planted = np.zeros(len(PROVINCES))
    planted[PROVINCES.index("皖")], planted[PROVINCES.index("琼")] = 0.8, -0.5
    planted -= planted.mean()
    index = np.array([CHAR_TO_INDEX[ch] for ch in PROVINCES])
    pairs = []
    for _ in range(4000):
        y = int(rng.integers(len(PROVINCES)))  # provinces uniform
        evidence = rng.normal(0, 1.5, len(PROVINCES))
        evidence[y] += 2.0
        # the model's log-probabilities: the evidence plus the learnt prior; labels drawn from
        # the evidence alone are what a uniform world produces
        p = _probs((evidence - np.log(np.exp(evidence).sum()))[None])[0]
        y = int(rng.choice(len(PROVINCES), p=p))
        lp = np.full(NUM_CLASSES, -20.0)
        lp[index] = evidence + planted
        pairs.append((lp, int(index[y])))
    got = fit_province_prior(pairs, temperature=1.0)
    assert np.abs(got - planted).max() < 0.25, np.round(got - planted, 2)
    assert int(np.argmax(got)) == PROVINCES.index("皖")


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
