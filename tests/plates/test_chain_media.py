"""Full chain on the real photos: COCO SSD vehicles -> plate localiser -> reader.

None of these photos shows a readable mainland plate (one shows a non-Chinese plate), so the
chain must invent nothing on the MANIFEST's negatives and report only format-valid reads
anywhere; what it reads per image is printed (run with ``-s``) for the record.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.plates.conftest import MEDIA, SSD, need

VEHICLES = {"car", "truck", "bus", "motorcycle"}


def _images() -> list[tuple[str, str]]:
    if not (MEDIA / "MANIFEST.csv").exists():
        return []
    with open(MEDIA / "MANIFEST.csv", encoding="utf-8", newline="") as fh:
        return [(r["file"], r["contents"]) for r in csv.DictReader(fh)]


def _load(path) -> np.ndarray | None:
    import cv2

    return cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def ssd():
    need(SSD / "detect.tflite")
    from gateway.inference import load_model

    model = load_model(SSD / "detect.tflite", threads=1)
    labels = (SSD / "labelmap.txt").read_text(encoding="utf-8").splitlines()
    return model, labels


def detect_vehicles(
    ssd, img_bgr: np.ndarray, min_score: float = 0.4
) -> list[tuple[str, float, tuple[int, int, int, int]]]:
    """Minimal SSD call: uint8 300x300 RGB in; boxes, classes, scores, count out."""
    import cv2

    model, labels = ssd
    _, ih, iw, _ = model.input_shape
    x = cv2.cvtColor(cv2.resize(img_bgr, (iw, ih)), cv2.COLOR_BGR2RGB)[None]
    boxes, classes, scores, count = model.invoke(x.astype(model.input["dtype"]))[:4]
    h, w = img_bgr.shape[:2]
    res = []
    for i in range(int(count[0])):
        name = labels[int(classes[0, i]) + 1]
        if name in VEHICLES and scores[0, i] >= min_score:
            y0, x0, y1, x1 = boxes[0, i]
            res.append((name, float(scores[0, i]), (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))))
    return res


def test_chain_on_media_images(ssd, reader) -> None:
    rows = _images()
    assert rows, "../shared/media/images not present"
    from gateway.plates.format import is_valid

    total_vehicles = 0
    report = []
    for fname, contents in rows:
        img = _load(MEDIA / fname)
        assert img is not None, fname
        vehicles = detect_vehicles(ssd, img)
        total_vehicles += len(vehicles)
        reads = []
        for _, _, box in vehicles:
            reads += [o.text for o in reader.read_vehicle(img, box)]
        frame_reads = [o.text for o in reader.read_frame(img)]
        for t in reads + frame_reads:
            assert is_valid(t)
        negative = "negative" in contents
        report.append((fname, len(vehicles), reads, frame_reads, negative))
        if negative:
            assert vehicles == [], f"{fname}: detector found vehicles on a negative"
            assert reads == [] and frame_reads == [], f"{fname}: invented a plate on a negative"
    print("\nfile, vehicles, plate reads (vehicle boxes), plate reads (whole frame)")
    for r in report:
        print(f"  {r[0]}: {r[1]} vehicles, reads={r[2]}, frame={r[3]}{' [negative]' if r[4] else ''}")
    assert total_vehicles > 5  # the detector really ran and found the cars in these photos
    # no photo here holds a readable mainland plate: at most a stray read across all 26
    invented = sum(len(r[2]) + len(r[3]) for r in report)
    assert invented <= 1, report


def test_mainland_plate_on_a_real_car_is_read(ssd, reader) -> None:
    """The real car photo with validation-split plates pasted over its own (Danish) plate:
    detector -> vehicle crop -> localiser -> reader must give the pasted text."""
    import cv2

    from models.plates import split as dsplit
    from tests.plates.conftest import DEV_CROPS

    need(DEV_CROPS)
    img = _load(MEDIA / "paddledet_car.jpg")
    assert img is not None
    # the Danish plate: it must not be read as a mainland plate
    vehicles = detect_vehicles(ssd, img)
    assert len(vehicles) >= 1
    box = max(vehicles, key=lambda v: v[1])[2]
    assert reader.read_vehicle(img, box) == []
    _, val = dsplit.split(DEV_CROPS)
    ok = 0
    for f, text in val[10:20]:
        plate = dsplit.load_crop_bgr(DEV_CROPS / f)
        plate = cv2.resize(plate, (3703 - 2964, 1919 - 1717), interpolation=cv2.INTER_CUBIC)
        scene = img.copy()
        scene[1717:1919, 2964:3703] = plate
        reads = reader.read_vehicle(scene, box)
        ok += [o.text for o in reads][:1] == [text]
    print(f"\npasted plates read on the real car: {ok}/10")
    assert ok >= 7
