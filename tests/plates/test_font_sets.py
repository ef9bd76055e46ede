"""models/plates/synth.py font sets: the evaluation's ``unseen`` faces are faces no shipped
model was trained on, so the province figures in them stand for a typeface the models never saw."""

from __future__ import annotations

from models.plates.synth import CJK_FONTS, FONT_SETS


def test_unseen_faces_share_no_file_with_the_shipped_training_faces() -> None:
    # the shipped recognizer and province reader drew their CJK glyphs from ``base`` only
    assert FONT_SETS["base"] == CJK_FONTS
    unseen = {path for path, _ in FONT_SETS["unseen"]}
    assert unseen and not unseen & {path for path, _ in FONT_SETS["base"]}


def test_the_larger_training_set_is_the_shipped_faces_and_the_unseen_ones() -> None:
    assert FONT_SETS["more"] == FONT_SETS["base"] + FONT_SETS["unseen"]
