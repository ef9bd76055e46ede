"""Localiser + reader on composite scenes: real validation-split plates pasted on real photos."""

from __future__ import annotations

import numpy as np

from models.plates import split as dsplit
from tests.plates.conftest import DEV_CROPS, MEDIA, need


def test_localiser_recall_and_end_to_end() -> None:
    need(DEV_CROPS)
    need(MEDIA)
    from models.plates.evaluate import evaluate_localiser

    res = evaluate_localiser(100)
    print("\n", res)
    assert res["model_recall_iou50"] >= 0.85
    assert res["with_classical_recall_iou50"] >= res["model_recall_iou50"]
    assert res["end_to_end_exact"] >= 0.5


def test_rotated_plate_is_straightened_and_read(reader) -> None:
    import cv2

    need(DEV_CROPS)
    _, val = dsplit.split(DEV_CROPS)
    ok = 0
    for f, text in val[:10]:
        plate = cv2.resize(dsplit.load_crop_bgr(DEV_CROPS / f), (128, 32), interpolation=cv2.INTER_CUBIC)
        scene = np.full((240, 320, 3), 90, np.uint8)
        scene[104:136, 96:224] = plate
        M = cv2.getRotationMatrix2D((160, 120), 8, 1.0)  # counter-clockwise: right end higher
        scene = cv2.warpAffine(scene, M, (320, 240), borderValue=(90, 90, 90))
        boxes = reader.localizer.locate(scene, 160)
        assert boxes, f
        assert boxes[0].angle < -2, boxes[0]
        reads = reader.read_vehicle(scene, (0, 0, 320, 240))
        ok += any(o.text == text for o in reads)
    assert ok >= 7


def test_whole_frame_mode(reader) -> None:
    import cv2

    need(DEV_CROPS)
    _, val = dsplit.split(DEV_CROPS)
    f, text = val[3]
    frame = np.full((720, 1280, 3), 60, np.uint8)
    cv2.rectangle(frame, (400, 200), (900, 650), (30, 30, 160), -1)  # a red car body
    plate = cv2.resize(dsplit.load_crop_bgr(DEV_CROPS / f), (220, 56), interpolation=cv2.INTER_CUBIC)
    frame[500:556, 540:760] = plate
    reads = reader.read_frame(frame)
    assert [o.text for o in reads] == [text]
    o = reads[0]
    from gateway.plates.localizer import PlateBox

    assert o.box is not None
    assert PlateBox(*o.box, score=1).iou(PlateBox(540, 500, 760, 556, score=1)) >= 0.6
    assert str(o.colour) == "blue"


def _double_row_plate(w: int) -> np.ndarray:
    """A yellow 440x220 mm two-row plate drawn with OpenCV glyphs (province glyph as a block)."""
    import cv2

    p = np.zeros((110, 220, 3), np.uint8)
    p[:] = (20, 200, 245)
    cv2.rectangle(p, (2, 2), (217, 107), (10, 10, 10), 2)
    cv2.rectangle(p, (60, 10), (95, 42), (10, 10, 10), -1)
    cv2.putText(p, "A", (120, 40), cv2.FONT_HERSHEY_DUPLEX, 1.1, (10, 10, 10), 3)
    cv2.putText(p, "12345", (14, 98), cv2.FONT_HERSHEY_DUPLEX, 1.9, (10, 10, 10), 4)
    return cv2.resize(p, (w, w // 2), interpolation=cv2.INTER_AREA)


def test_double_row_plate_is_located_not_read(reader) -> None:
    import cv2

    from gateway.plates.localizer import PlateBox

    for w, (x, y) in [(90, (80, 110)), (70, (40, 130)), (110, (60, 90)), (80, (120, 120))]:
        scene = np.full((240, 320, 3), 70, np.uint8)
        cv2.rectangle(scene, (20, 20), (300, 230), (150, 40, 40), -1)
        scene[y : y + w // 2, x : x + w] = _double_row_plate(w)
        gt = PlateBox(x, y, x + w, y + w // 2, score=1.0)
        boxes = reader.locate(scene, (0, 0, 320, 240))
        best = max(boxes, key=lambda b: b.iou(gt))
        assert best.iou(gt) >= 0.6 and best.double_row, best
        assert reader.read_vehicle(scene, (0, 0, 320, 240)) == []
