"""models/plates/miss_causes.py: every plate lands in exactly one bucket, and the rejections
are broken down by the reader's own reasons. Real validation crops pasted on real photos
(the synthetic province set it is run on needs the training fonts; the bucketing is the same)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from gateway.plates.config import RecognizerConfig
from gateway.plates.finder import PlateFinder
from models.plates.evaluate_scenes import Sample, _backgrounds, crop_samples, paste_with_corners
from models.plates.miss_causes import diagnose

BUCKETS = {"exact", "wrong: province only", "wrong: elsewhere only", "wrong: province and elsewhere",
           "no read: not found", "no read: rejected", "no read: accepted here"}
#: the reader's minimum character confidence: a province rejected as weak lies below it
MINIMUM = RecognizerConfig().min_char_confidence


def pasted(n: int) -> Iterator[Sample]:
    """``n`` real validation crops, each pasted on a real photo at 40-200 px wide."""
    rng = np.random.default_rng(5)
    bgs = _backgrounds()
    for c in itertools.islice(crop_samples(PlateFinder()), n):
        width = float(rng.uniform(40, 200))
        scene, corners = paste_with_corners(bgs[int(rng.integers(len(bgs)))], c.image, rng,
                                            (640, 480), width)
        yield Sample("pasted", c.name, scene, c.text, c.colour, width, corners=corners)


def test_every_plate_is_in_one_bucket_and_rejections_add_up() -> None:
    res = diagnose(pasted(40))
    assert res["n"] == 40
    buckets = res["buckets"]
    assert set(buckets) <= BUCKETS and sum(buckets.values()) == 40
    assert buckets.get("exact", 0) >= 20  # the chain reads most of them
    assert len(buckets) >= 2, buckets  # small ones at 40 px are missed: the misses are sorted
    assert sum(res["rejected"].values()) == buckets.get("no read: rejected", 0)
    low = res.get("province_below_minimum")
    if low is not None:
        assert low["n"] == res["rejected"]["province below the minimum confidence"]
        assert 0 <= low["top1_right"] <= low["n"] and 0 <= low["confidence_median"] < MINIMUM
