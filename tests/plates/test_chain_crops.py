"""models/plates/chain_crops.py: training crops are cut exactly as the reader cuts them.

Real validation crops (never trained on) pasted into real training-side toll-lane photos; the
synthetic plates of a real cache need the training fonts, the cutting is the same."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gateway.plates.finder import PlateFinder
from models.plates.chain_crops import IN_H, IN_W, chain_cache, chain_crop, paste_plate, training_hosts
from models.plates.evaluate_scenes import crop_samples


@pytest.fixture(scope="module")
def hosts():
    return training_hosts(PlateFinder())


def test_hosts_are_training_side_photos_with_their_plate_found(hosts) -> None:
    from models.plates import real_scenes

    train, val = real_scenes.split()
    assert len(train) * 0.8 <= len(hosts) <= len(train)  # the finder finds most plates
    for h in hosts[:10]:
        assert h.corners.shape == (4, 2)
        assert h.image.ndim == 3 and h.image.shape[2] == 3
    # validation photos are never hosts (the hosts are the training side, checked by pixels)
    val_sums = {int(real_scenes.load_masked(v).sum()) for v in val[:20]}
    assert not val_sums & {int(h.image.sum()) for h in hosts}


def test_a_pasted_real_plate_is_cut_like_the_reader_and_reads(hosts, reader) -> None:
    rng = np.random.default_rng(3)
    crops = list(itertools.islice(crop_samples(PlateFinder()), 121, 141))  # toll-lane validation crops
    found = read = 0
    for c in crops:
        scene, corners = paste_plate(hosts[int(rng.integers(len(hosts)))], c.image, rng)
        assert corners.shape == (4, 2)
        assert (corners >= -1).all() and (corners[:, 0] <= scene.shape[1] + 1).all()
        cut = chain_crop(reader, scene, corners, rng)
        if cut is None:
            continue
        found += 1
        assert cut.shape == (IN_H, IN_W, 3) and cut.dtype == np.uint8
        # the cut is RGB at the model's size: the recognizer (BGR in) reads the pasted text
        read += reader.recognizer.read(np.ascontiguousarray(cut[..., ::-1])).text == c.text
    assert found >= 15, found  # plates from ~25 to ~300 px: the smallest are missed
    assert read >= found * 0.6, (read, found)


def test_nothing_found_gives_no_crop(hosts, reader) -> None:
    rng = np.random.default_rng(0)
    blank = np.full((480, 640, 3), 127, np.uint8)
    corners = np.array([[100, 100], [300, 100], [300, 160], [100, 160]], np.float32)
    assert chain_crop(reader, blank, corners, rng) is None


def test_validation_seeds_are_refused() -> None:
    for seed in (31, 37, 131):
        with pytest.raises(ValueError, match="validation or diagnosis seed"):
            chain_cache(10, seed)
