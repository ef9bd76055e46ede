"""The second reader (HyperLPR's recognizer, converted) and the product of its opinion with the
first read's: on real crops, through the one TFLite seam."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.charset import ALPHABET
from gateway.plates.config import FinderConfig, PlatesConfig, RecognizerConfig
from gateway.plates.recognizer import PlateRead
from gateway.plates.second_opinion import SECOND_BLANK, SECOND_CHARS, SecondReader, combine

from .conftest import DEV_CROPS, need


@pytest.fixture(scope="module")
def second() -> SecondReader:
    return SecondReader()


def _validation_crops() -> list[tuple[np.ndarray, str]]:
    from models.plates import split as dsplit

    need(DEV_CROPS)
    _, val = dsplit.split()
    return [(dsplit.load_crop_bgr(DEV_CROPS / f), text) for f, text in val]


def test_second_reader_loads_through_the_seam_and_knows_every_province(second: SecondReader) -> None:
    assert second.model.runtime in ("ai-edge-litert", "tflite-runtime")
    assert (second.input_height, second.input_width) == (40, 160)
    assert len(SECOND_CHARS) == SECOND_BLANK == 83
    # every character edgepost reads except 领 (which HyperLPR never learned) is in its table
    assert [c for c in ALPHABET if c not in SECOND_CHARS] == ["领"]


def test_second_reader_reads_real_crops_on_its_own(second: SecondReader) -> None:
    """Its greedy reads of the real validation crops (CCPD-like 皖 plates) are mostly right: the
    conversion kept the network (the converter checks it against the Caffe original too)."""
    crops = _validation_crops()
    exact = 0
    for crop, text in crops:
        dists = second.distributions(crop)
        got = "".join(ALPHABET[int(d.argmax())] for d in dists)
        exact += got == text
        for d in dists:
            assert d.shape == (len(ALPHABET),) and abs(float(d.sum()) - 1.0) < 1e-5
    assert exact >= 0.8 * len(crops), f"{exact} of {len(crops)}"


def test_second_opinion_reads_more_real_crops_and_no_more_wrong() -> None:
    """The whole point: on real crops never trained on, combined reads are exact more often than
    the first reader's alone, and wrong no more often."""
    from gateway.plates.reader import PlateReader

    # the crops are read as they are: found again close up, they read as well without the
    # second opinion (test_refind.py), which would hide what this test is about
    flat = FinderConfig(refind=False)
    on = PlateReader(PlatesConfig(finder=flat))
    off = PlateReader(PlatesConfig(finder=flat, recognizer=RecognizerConfig(second_reader=False)))
    assert off.second is None and on.second is not None
    tally = {"on": [0, 0], "off": [0, 0]}
    for crop, text in _validation_crops():
        for name, rd in (("on", on), ("off", off)):
            o = rd.read_plate_crop(crop)
            if o is not None:
                tally[name][0 if o.text == text else 1] += 1
    assert tally["on"][0] > tally["off"][0], tally
    assert tally["on"][1] <= tally["off"][1], tally


def test_a_sure_read_is_not_asked_again(reader, second: SecondReader, monkeypatch) -> None:
    crop, text = next((c, t) for c, t in _validation_crops() if reader.recognizer.read(c).confidence > 0.99)
    calls = []
    monkeypatch.setattr(reader.second, "distributions", lambda c: calls.append(c) or second.distributions(c))
    assert reader.read_plate_crop(crop).text == text
    assert calls == []


def test_a_failing_second_reader_is_counted_and_the_first_read_stands(monkeypatch) -> None:
    from gateway.plates.reader import PlateReader

    rd = PlateReader()
    crop = next(c for c, _ in _validation_crops() if 0.6 < rd.recognizer.read(c).confidence < 0.8)
    alone = PlateReader(PlatesConfig(recognizer=RecognizerConfig(second_reader=False))).read_plate_crop(crop)

    def broken(_crop: np.ndarray) -> list[np.ndarray]:
        raise RuntimeError("interpreter gone")

    monkeypatch.setattr(rd.second, "distributions", broken)
    before = rd.errors
    got = rd.read_plate_crop(crop)
    assert rd.errors == before + 1
    assert (got.text if got else None) == (alone.text if alone else None)


def _dist(ch: str, p: float) -> np.ndarray:
    d = np.full(len(ALPHABET), (1 - p) / (len(ALPHABET) - 1))
    d[ALPHABET.index(ch)] = p
    return d


def test_combine_needs_the_same_length() -> None:
    read = PlateRead("皖A12345", (0.9,) * 7)
    assert combine(read, [_dist("1", 0.9)] * 6, 0.5) is None
    assert combine(PlateRead("", ()), [], 0.5) is None


def test_combine_lets_a_sure_second_reader_overturn_an_unsure_province_only() -> None:
    read = PlateRead("皖A12345", (0.55, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99),
                     ((("皖", 0.55), ("粤", 0.4)), *[((c, 0.99),) for c in "A12345"]))
    second = [_dist("粤", 0.97), _dist("8", 0.9)] + [_dist(c, 0.95) for c in "12345"]
    got = combine(read, second, 0.5)
    assert got is not None
    assert got.text == "粤A12345"  # the unsure province changes; the sure 'A' and '1' do not
    assert got.char_conf[0] > 0.6 and got.char_conf[1] > 0.9


_chars = st.sampled_from(ALPHABET)


@settings(max_examples=60, deadline=None)
@given(
    text=st.lists(_chars, min_size=1, max_size=8),
    conf=st.lists(st.floats(0.05, 1.0), min_size=8, max_size=8),
    seed=st.integers(0, 2**16),
    weight=st.floats(0.05, 1.0),
)
def test_combine_is_a_distribution_and_a_flat_second_opinion_changes_nothing(
    text: list[str], conf: list[float], seed: int, weight: float
) -> None:
    read = PlateRead("".join(text), tuple(conf[: len(text)]))
    rng = np.random.default_rng(seed)
    second = [rng.dirichlet(np.ones(len(ALPHABET))) for _ in text]
    got = combine(read, second, weight)
    assert got is not None and len(got.text) == len(text)
    for c, alts in zip(got.char_conf, got.alternatives, strict=True):
        assert 0.0 < c <= 1.0
        assert [p for _, p in alts] == sorted((p for _, p in alts), reverse=True)
    flat = combine(read, [np.full(len(ALPHABET), 1 / len(ALPHABET)) for _ in text], weight)
    assert flat is not None
    # an opinion with no preference leaves the first read as it was: text and confidences
    assert flat.text == read.text
    assert np.allclose(flat.char_conf, read.char_conf, atol=1e-6)
