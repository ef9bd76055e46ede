"""The committed int8 recognizer on the never-trained validation split of dev_crops."""

from __future__ import annotations

import numpy as np

from models.plates import split as dsplit
from tests.plates.conftest import DEV_CROPS, need


def test_split_is_fixed_and_large_enough() -> None:
    need(DEV_CROPS)
    train, val = dsplit.split(DEV_CROPS)
    assert len(val) >= 100
    assert not {f for f, _ in train} & {f for f, _ in val}
    assert all(dsplit.is_validation(f) for f, _ in val)
    assert len(val) == 121 and len(train) == 383  # the documented split
    # crops that show no plate (session 42) are training-side crops left out of training
    training = dsplit.training_rows(DEV_CROPS)
    assert set(dsplit.NOT_PLATES) <= {f for f, _ in train}
    assert not {f for f, _ in training} & set(dsplit.NOT_PLATES)
    assert len(training) == len(train) - len(dsplit.NOT_PLATES)


def test_dev_validation_exact_match(recognizer) -> None:
    """The dev split (117 of its 121 plates are 皖): a regression guard, not the goal.

    The recognizer of 2026-11-28 read 95.9 % here with a 皖 prior learnt from these crops; the
    issue-11 recognizers read provinces from the plate: s5 94.2 % here, s6 (trained on crops
    cut by the runtime chain) 90.9 %, while it reads 91 % of synthetic provinces where s5 read
    77 % (models/plates/MODEL_CARD.md)."""
    need(DEV_CROPS)
    from models.plates.evaluate import evaluate_recognizer

    res = evaluate_recognizer(rows=dsplit.split(DEV_CROPS)[1])
    print(f"\nvalidation n={res['n']} exact={res['exact_match']:.4f} char={res['char_accuracy']:.4f}")
    for e in res["errors"]:
        print("  miss", e)
    assert res["exact_match"] >= 0.9
    assert res["char_accuracy"] >= 0.98


def test_real_validation_crops_of_both_sources(recognizer) -> None:
    """All held-out real crops: the dev split and the toll-lane validation plates (mostly 浙),
    warped flat from the finder's corners. A recognizer that leans to 皖 fails here (the
    2026-11-28 one read 88.7 %)."""
    need(DEV_CROPS)
    from gateway.plates.config import PlatesConfig
    from gateway.plates.finder import PlateFinder
    from gateway.plates.reader import PlateReader
    from models.plates.evaluate_scenes import crop_samples

    reader = PlateReader(PlatesConfig())
    samples = list(crop_samples(PlateFinder(), side=1))
    exact = 0
    for s in samples:
        obs = reader.read_plate_crop(s.image)
        exact += obs is not None and obs.text == s.text
    print(f"\nreal validation crops n={len(samples)} exact={exact / len(samples):.4f}")
    assert len(samples) == 221
    assert exact / len(samples) >= 0.90


def test_read_gives_per_character_confidence(recognizer) -> None:
    need(DEV_CROPS)
    _, val = dsplit.split(DEV_CROPS)
    f, _ = val[0]
    r = recognizer.read(dsplit.load_crop_bgr(DEV_CROPS / f))
    assert len(r.char_conf) == len(r.text)
    assert all(0.0 <= c <= 1.0 for c in r.char_conf)
    assert len(r.alternatives) == len(r.text)
    assert 0.0 <= r.confidence <= 1.0


def test_model_is_small_int8() -> None:
    from gateway.inference import load_model
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER

    assert DEFAULT_RECOGNIZER.stat().st_size < 600_000
    model = load_model(DEFAULT_RECOGNIZER)
    assert model.input["dtype"] == np.int8
    assert model.outputs[0]["dtype"] == np.int8
