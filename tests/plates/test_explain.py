"""Why `edgepost plates read` read nothing: each candidate's reason comes from the read the
reader itself judged (gateway/plates/imagefile.py explain_no_read over PlateReader.warped_read
and PlateReader.rejection), on a real toll-lane photo with the real models."""

from __future__ import annotations

import math

import cv2
import numpy as np

from gateway.plates.config import PlatesConfig, RecognizerConfig
from gateway.plates.imagefile import explain_no_read
from gateway.plates.reader import PlateReader
from tests.plates.conftest import SHARED, need

OTHER = SHARED / "plates" / "real_scenes_hyperlpr" / "cache_bad2" / "川QEZ982.png"


def test_a_rejected_candidate_is_explained_by_the_voted_read_the_reader_judged() -> None:
    frame = cv2.imdecode(np.fromfile(need(OTHER), np.uint8), cv2.IMREAD_COLOR)
    # every character must be certain: nothing passes, so every finder candidate is voted on
    reader = PlateReader(PlatesConfig(recognizer=RecognizerConfig(min_char_confidence=1.0)))
    assert reader.read_frame(frame) == []
    reason, candidates = explain_no_read(reader, frame)
    assert reason == "candidates rejected"
    assert reader.finder is not None
    found = reader.finder.find(frame)
    explained = [c for c in candidates if c.source == "finder"]
    assert explained and len(explained) == min(len(found), len(explained))
    plate = found[0]
    judged = reader.warped_read(frame, plate)
    assert judged is not None and judged.observation is None
    first = reader.recognizer.read(judged.flat)  # the first warp alone
    assert judged.read.char_conf != first.char_conf, "the judged read is the vote, not one warp"
    top = explained[0]
    assert (top.text, top.confidence) == (judged.read.text, round(judged.read.confidence, 3))
    weakest = min(range(len(judged.read.char_conf)), key=lambda i: judged.read.char_conf[i])
    shown = math.floor(judged.read.char_conf[weakest] * 100) / 100  # cut, never rounded up
    assert top.reason == (f"character {weakest + 1} ('{top.text[weakest]}') at "
                          f"{shown:.2f} is below the minimum confidence 1.00")
    assert shown < 1.0
    assert reader.rejection(judged.read, judged.flat) == top.reason
