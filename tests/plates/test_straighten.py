"""Plain crops (no corners known) read not sure are straightened from the corners the finder
finds in them: real tilted crops, the rule that picks the read, failures and cost."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.plates.config import FinderConfig, PlatesConfig

from .conftest import DEV_CROPS, need

#: real training-side calibration crops (never trained on, never validation) of plates tilted in
#: a crop cut along the image axes: the reader alone rejects each of them
TILTED = {"皖AHX511.jpg": "皖AHX511", "皖AHN713.jpg": "皖AHN713", "皖A09N61.jpg": "皖A09N61"}


def _crop(name: str) -> np.ndarray:
    from models.plates import split as dsplit

    need(DEV_CROPS / name)
    return dsplit.load_crop_bgr(DEV_CROPS / name)


@pytest.fixture(scope="module")
def flat():
    """The reader with straightening off: each crop read as it is."""
    from gateway.plates.reader import PlateReader

    return PlateReader(PlatesConfig(finder=FinderConfig(straighten_crops=False)))


@pytest.mark.parametrize("name", sorted(TILTED))
def test_a_tilted_real_crop_is_read_once_straightened(reader, flat, name: str) -> None:
    crop = _crop(name)
    assert flat.read_plate_crop(crop) is None
    got = reader.read_plate_crop(crop, t=2.5, box=(10, 20, 104, 44))
    assert got is not None and got.text == TILTED[name]
    # the observation keeps the caller's time and box, not the bordered crop's coordinates
    assert got.t == 2.5 and got.box == (10, 20, 104, 44)


def test_a_sure_read_does_not_ask_the_finder(reader, monkeypatch) -> None:
    from models.plates import split as dsplit

    need(DEV_CROPS)
    crop = next(
        c for c in (dsplit.load_crop_bgr(DEV_CROPS / f) for f, _ in dsplit.split()[1])
        if reader.recognizer.read(c).confidence > 0.99
    )
    calls: list[np.ndarray] = []
    real_find = reader.vehicle_finder.find
    monkeypatch.setattr(reader.vehicle_finder, "find", lambda img: calls.append(img) or real_find(img))
    assert reader.read_plate_crop(crop) is not None
    assert calls == []


def test_straighten_false_reads_the_crop_as_it_is(reader, monkeypatch) -> None:
    crop = _crop("皖AHX511.jpg")
    monkeypatch.setattr(reader.vehicle_finder, "find", lambda img: pytest.fail("finder asked"))
    assert reader.read_plate_crop(crop, straighten=False) is None


def test_a_failing_finder_is_counted_and_the_plain_read_stands(monkeypatch) -> None:
    from gateway.plates.reader import PlateReader

    rd = PlateReader()
    crop = _crop("皖AHX511.jpg")

    def broken(_img: np.ndarray) -> list:
        raise RuntimeError("interpreter gone")

    monkeypatch.setattr(rd.vehicle_finder, "find", broken)
    before = rd.errors
    assert rd.read_plate_crop(crop) is None  # as the flat reader: rejected
    assert rd.errors == before + 1


def test_the_more_confident_read_is_kept(reader, flat) -> None:
    """A crop the flat reader accepts but not surely: the straightened read replaces it only when
    it is surer, so the result is never less confident than the plain read."""
    from models.plates import split as dsplit

    need(DEV_CROPS)
    vote_below = reader.config.finder.vote_below
    seen = 0
    for f, _ in dsplit.split()[1]:
        crop = dsplit.load_crop_bgr(DEV_CROPS / f)
        plain = flat.read_plate_crop(crop)
        if plain is None or plain.confidence >= vote_below:
            continue
        seen += 1
        got = reader.read_plate_crop(crop)
        assert got is not None and got.confidence >= plain.confidence
    assert seen > 0


def test_noise_and_a_blank_crop_give_no_read(reader) -> None:
    rng = np.random.default_rng(5)
    assert reader.read_plate_crop(rng.integers(0, 256, (32, 120, 3), np.uint8)) is None
    assert reader.read_plate_crop(np.full((24, 94, 3), 128, np.uint8)) is None
    assert reader.read_plate_crop(np.zeros((0, 0, 3), np.uint8)) is None
