"""models/plates/compare_province.py on real validation crops: a reader joined with itself reads
exactly as it does alone, only labels that begin with a province are counted, and the fused
province of the committed reader is right on most real crops."""

from __future__ import annotations

import itertools

from gateway.plates.finder import PlateFinder
from gateway.plates.province import DEFAULT_PROVINCE_READER
from models.plates.compare_province import compare
from models.plates.evaluate_scenes import crop_samples


def test_joined_with_itself_equals_alone_and_only_provinces_count() -> None:
    samples = list(itertools.islice(crop_samples(PlateFinder()), 30))
    crops = [s.image for s in samples] + [samples[0].image]
    texts = [s.text for s in samples] + ["A" + samples[0].text[1:]]  # no province: not counted
    one = str(DEFAULT_PROVINCE_READER)
    alone, joined = compare([one, f"{one}+{one}"], crops, texts)
    assert alone.n == joined.n == sum(t[0] != "A" for t in texts) == 30
    figures = ("alone", "fused_province", "full_text", "sure_wrong", "sure_wrong_wan")
    assert [getattr(alone, f) for f in figures] == [getattr(joined, f) for f in figures]
    assert alone.fused_province >= 27, alone  # real crops at their own size: the province is read
    assert alone.full_text <= alone.fused_province
