"""Frames of an infrared or black-and-white camera (a checkpoint at night): plates are read
without the colour rule, their colour is unknown, and a colour frame is never taken for one.

Real toll-lane photos from ../shared, greyed as a monochrome camera gives them; the real
models through the reader.
"""

from __future__ import annotations

import cv2
import numpy as np

from gateway.plates.colour import PlateColour, is_monochrome
from tests.plates.conftest import MEDIA, SHARED, grey, need

SCENES = SHARED / "plates" / "real_scenes_hyperlpr"
#: a yellow truck plate of the toll-lane photos (training side), read in colour and in grey
YELLOW = "沪BE3658"



def _photo(text: str) -> np.ndarray:
    from models.plates import real_scenes

    need(SCENES / "labels.csv")
    (label,) = [lab for lab in real_scenes.read_labels() if lab.text == text]
    return real_scenes.load_masked(label)


def test_a_yellow_plate_in_a_monochrome_frame_is_read_with_its_colour_unknown(reader) -> None:
    photo = _photo(YELLOW)
    in_colour = reader.read_frame(photo)
    assert [(o.text, o.colour) for o in in_colour][:1] == [(YELLOW, PlateColour.YELLOW)]
    in_grey = reader.read_frame(grey(photo))
    # before: light grey with dark text looked like a white (foreign) plate and was refused
    assert [(o.text, o.colour) for o in in_grey][:1] == [(YELLOW, PlateColour.UNKNOWN)]
    sight = reader.inspect_frame(grey(photo))
    assert sight.candidates and all(c.colour is PlateColour.UNKNOWN for c in sight.candidates)


def test_the_explanation_judges_a_monochrome_frame_as_the_reader_does(reader) -> None:
    """`plates read` explains a no-read by the reader's own rules: in a grey frame a read that
    is refused is never refused for its colour."""
    from gateway.plates.config import PlatesConfig, RecognizerConfig
    from gateway.plates.imagefile import explain_no_read
    from gateway.plates.reader import PlateReader

    strict = PlateReader(PlatesConfig(recognizer=RecognizerConfig(min_char_confidence=1.0)))
    frame = grey(_photo(YELLOW))
    assert strict.read_frame(frame) == []
    reason, cands = explain_no_read(strict, frame)
    assert reason == "candidates rejected" and cands
    assert not any("colours do not fit" in c.reason for c in cands), [c.reason for c in cands]
    assert any("below the minimum confidence 1.00" in c.reason for c in cands)


def test_colour_frames_are_never_taken_for_monochrome_ones() -> None:
    """Every real photo of ../shared/media and every 10th frame of the dim, desaturated highway
    video are colour frames; each of them greyed is monochrome."""
    photos = sorted(p for p in need(MEDIA).iterdir() if p.suffix.lower() in (".jpg", ".png", ".bmp"))
    assert len(photos) >= 10
    frames = [cv2.imread(str(p)) for p in photos]
    cap = cv2.VideoCapture(str(need(MEDIA.parent / "video" / "car-detection.mp4")))
    i = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i % 10 == 0:
            frames.append(f)
        i += 1
    assert len(frames) > len(photos) + 20
    assert [i for i, f in enumerate(frames) if is_monochrome(f)] == []
    assert all(is_monochrome(grey(f)) for f in frames)
