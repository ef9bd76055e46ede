"""The province reader (a classifier of the plate's first character) and how its opinion enters
a read: through the one TFLite seam, on real crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.charset import LETTERS, PROVINCES
from gateway.plates.config import PlatesConfig, RecognizerConfig
from gateway.plates.province import ProvinceReader, fuse
from gateway.plates.recognizer import PlateRead, PlateRecognizer

from .conftest import DEV_CROPS, need


@pytest.fixture(scope="module")
def province() -> ProvinceReader:
    return ProvinceReader()


def _onehot(ch: str, p: float = 0.98) -> np.ndarray:
    out = np.full(len(PROVINCES), (1 - p) / (len(PROVINCES) - 1))
    out[PROVINCES.index(ch)] = p
    return out


def _read(first: tuple[tuple[str, float], ...], rest: str = "A12345") -> PlateRead:
    return PlateRead(first[0][0] + rest, (first[0][1],) + (0.99,) * len(rest),
                     (first, *(((c, 0.99),) for c in rest)))


def test_an_unsure_province_follows_the_classifier() -> None:
    read = _read((("冀", 0.5), ("京", 0.4), ("A", 0.05)))
    fused = fuse(read, _onehot("京"), 1.0)
    assert fused.text == "京A12345"
    assert fused.char_conf[0] > 0.9
    assert fused.char_conf[1:] == read.char_conf[1:]
    assert fused.alternatives[1:] == read.alternatives[1:]


def test_the_classifier_decides_which_province_never_whether_one() -> None:
    # the recognizer gives 10 % to a letter: that share survives the product unchanged
    read = _read((("冀", 0.5), ("京", 0.4), ("A", 0.1)))
    fused = fuse(read, _onehot("京", 0.999), 1.0)
    assert dict(fused.alternatives[0])["A"] == pytest.approx(0.1)
    assert sum(p for c, p in fused.alternatives[0] if c in PROVINCES) <= 0.9 + 1e-9


def test_a_sure_province_is_not_overturned_by_a_mild_disagreement() -> None:
    read = _read((("冀", 0.99), ("京", 0.005), ("A", 0.001)))
    fused = fuse(read, np.where(np.arange(len(PROVINCES)) == PROVINCES.index("京"), 0.6, 0.4 / 30), 1.0)
    assert fused.text[0] == "冀"


@settings(max_examples=100, deadline=None)
@given(st.floats(0.3, 0.95), st.floats(0.3, 0.95), st.floats(1.05, 4.0))
def test_a_temperature_softens_the_product_never_changes_its_choice(p_rec, p_cls, temperature) -> None:
    read = _read((("冀", p_rec), ("京", (1 - p_rec) * 0.8)))
    plain = fuse(read, _onehot("京", p_cls), 0.75)
    soft = fuse(read, _onehot("京", p_cls), 0.75, temperature=temperature)
    assert soft.text == plain.text
    assert soft.char_conf[1:] == plain.char_conf[1:]
    # the chosen province is the likeliest of unequal provinces, so softening lowers it
    assert soft.char_conf[0] < plain.char_conf[0]
    assert soft.char_conf[0] == dict(soft.alternatives[0])[soft.text[0]]


def test_the_product_temperature_is_read_beside_the_model(tmp_path) -> None:
    import json
    import shutil

    from gateway.plates.province import DEFAULT_PROVINCE_READER, load_temperature
    from gateway.plates.recognizer import calibration_path

    model = tmp_path / "province.tflite"
    shutil.copyfile(DEFAULT_PROVINCE_READER, model)
    assert load_temperature(model) == 1.0 and ProvinceReader(model).temperature == 1.0
    calibration_path(model).write_text(json.dumps({"temperature_fused": 1.7}), encoding="utf-8")
    assert ProvinceReader(model).temperature == 1.7
    # the committed reader has one, chosen on the development scenes (calibrate.py --fused): the
    # least calibration error, or the temperature in use while within the margin of it
    from models.plates.calibrate import FUSED_ECE_MARGIN, FUSED_GRID

    committed = json.loads(calibration_path(DEFAULT_PROVINCE_READER).read_text(encoding="utf-8"))
    assert committed["temperature_fused"] in FUSED_GRID
    assert committed["grid"][str(committed["temperature_fused"])]["ece"] <= min(
        g["ece"] for g in committed["grid"].values()) + FUSED_ECE_MARGIN


def test_reads_without_a_province_are_left_alone() -> None:
    for read in (PlateRead("", ()), _read((("A", 0.9), ("冀", 0.05)))):
        assert fuse(read, _onehot("京"), 1.0) == read


@settings(max_examples=200, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=len(PROVINCES), max_size=len(PROVINCES)),
    first=st.sampled_from(PROVINCES),
    second=st.sampled_from(PROVINCES + LETTERS),
    c1=st.floats(0.05, 1.0),
    weight=st.floats(0.1, 2.0),
)
def test_fusion_is_a_distribution_for_any_opinion(p: list[float], first: str, second: str, c1: float,
                                                  weight: float) -> None:
    probs = np.array(p)
    probs = probs / probs.sum() if probs.sum() > 0 else np.full(len(PROVINCES), 1 / len(PROVINCES))
    alts = ((first, c1),) if second == first else ((first, c1), (second, (1 - c1) * 0.5))
    fused = fuse(_read(alts), probs, weight)
    assert len(fused.text) == 7 and fused.text[1:] == "A12345"
    probs_out = [q for _, q in fused.alternatives[0]]
    assert all(0.0 <= q <= 1.0 + 1e-9 for q in probs_out)
    assert sum(probs_out) <= 1.0 + 1e-6
    assert fused.alternatives[0][0] == (fused.text[0], fused.char_conf[0])
    assert fused.text[0] in PROVINCES


def test_province_reader_loads_through_the_seam(province: ProvinceReader) -> None:
    assert province.model.runtime in ("ai-edge-litert", "tflite-runtime")
    assert province.model.outputs[0]["shape"][-1] == len(PROVINCES)


def test_a_model_that_is_not_a_province_reader_is_refused() -> None:
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER

    with pytest.raises(ValueError, match="province reader has 31"):
        ProvinceReader(DEFAULT_RECOGNIZER)


def _validation_crops() -> list[tuple[np.ndarray, str]]:
    from models.plates import split as dsplit

    need(DEV_CROPS)
    _, val = dsplit.split()
    return [(dsplit.load_crop_bgr(DEV_CROPS / f), text) for f, text in val]


def test_province_reader_names_the_province_of_real_crops_it_never_saw(province: ProvinceReader,
                                                                      recognizer: PlateRecognizer) -> None:
    crops = _validation_crops()
    right = sum(int(PROVINCES[int(province.probabilities(recognizer.preprocess(c)).argmax())] == t[0])
                for c, t in crops)
    assert right >= 0.9 * len(crops)


def test_the_reader_fuses_the_province_only_when_configured() -> None:
    from gateway.plates.reader import PlateReader

    on = PlateReader(PlatesConfig())
    off = PlateReader(PlatesConfig(recognizer=RecognizerConfig(province_reader=False)))
    assert isinstance(on.recognizer.province, ProvinceReader)
    assert off.recognizer.province is None


def test_the_province_reader_changes_only_the_first_character(province: ProvinceReader,
                                                              recognizer: PlateRecognizer) -> None:
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER

    fused = PlateRecognizer(DEFAULT_RECOGNIZER, province=province)
    changed = 0
    for crop, _ in _validation_crops():
        alone, both = recognizer.read(crop), fused.read(crop)
        assert both.text[1:] == alone.text[1:] and both.char_conf[1:] == alone.char_conf[1:]
        changed += both.text[:1] != alone.text[:1] or both.char_conf[:1] != alone.char_conf[:1]
    assert changed > 0  # the classifier has a say on real crops


def test_a_small_plate_read_as_the_majority_province_is_read_from_its_glyph(tmp_path) -> None:
    """A real training-side crop (闽D33U29) pasted small on a real photo, read from the coarse
    corners of the whole frame without a close look (no refind, no panel corners: those read it
    right whatever the prior, and this test is of the prior). Until session 13 the chain without the
    province reader read 皖D33U29 (the real crops' majority province); with the recognizer's
    learnt province prior divided out (calibrate.py) it reads the glyph, and so does the chain
    with the province reader. A recognizer calibration without the prior reads 皖 again."""
    from gateway.plates.config import FinderConfig
    from gateway.plates.finder import PlateFinder
    from gateway.plates.reader import PlateReader
    from models.plates.evaluate_scenes import composite_samples

    from .conftest import SHARED

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    s = next(s for s in composite_samples(PlateFinder(), side=0) if s.name == "dev/闽D33U29.jpg")
    finder = FinderConfig(refind=False, panel_corners=False)
    alone = PlateReader(PlatesConfig(finder=finder, recognizer=RecognizerConfig(province_reader=False)))
    fused = PlateReader(PlatesConfig(finder=finder))
    assert [o.text for o in alone.read_frame(s.image)] == [s.text] == ["闽D33U29"]
    assert [o.text for o in fused.read_frame(s.image)] == ["闽D33U29"]
    # the same recognizer with its temperatures but without the prior leans to the majority
    import json
    import shutil

    from gateway.plates.recognizer import DEFAULT_RECOGNIZER, calibration_path

    model = tmp_path / "rec.tflite"
    shutil.copyfile(DEFAULT_RECOGNIZER, model)
    calibration = json.loads(calibration_path(DEFAULT_RECOGNIZER).read_text(encoding="utf-8"))
    del calibration["province_log_prior"]
    calibration_path(model).write_text(json.dumps(calibration), encoding="utf-8")
    leaning = PlateReader(PlatesConfig(finder=finder, recognizer=RecognizerConfig(
        province_reader=False, model_path=str(model))))
    assert [o.text for o in leaning.read_frame(s.image)] == ["皖D33U29"]


def test_a_province_the_recognizer_is_sure_of_is_kept_without_a_call(recognizer: PlateRecognizer) -> None:
    """``province_sure_above`` as configured (0.99): on real crops the recognizer is sure of the
    skipped call would not have changed the province, and the read is the recognizer's own; reads
    below it are still weighed."""
    from gateway.plates.reader import PlateReader

    always = ProvinceReader()
    threshold = PlateReader(PlatesConfig()).recognizer.province.sure_above
    assert threshold == 0.99
    sure = ProvinceReader(sure_above=threshold)
    skipped = weighed = 0
    for crop, _ in _validation_crops():
        x = recognizer.preprocess(crop)
        alone = recognizer.read(crop)
        if not alone.text or alone.text[0] not in PROVINCES:
            continue
        kept, fused = sure.refine(alone, x), always.refine(alone, x)
        assert kept.text == fused.text
        if alone.char_conf[0] >= threshold:
            skipped += 1
            assert kept == alone
        else:
            weighed += 1
            assert kept == fused
    assert skipped > 0 and weighed > 0
