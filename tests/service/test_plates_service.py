"""Plates inside the running gateway: a vehicle track with a readable plate becomes one
``vehicle_passage`` event at the broker (clear text, or keyed hash in privacy mode).

No photo in ../shared shows a readable mainland plate, so the scene is composed here: a real
dev crop pasted onto the rear of the car in a real photo (paddledet_car.jpg), repeated as the
frames of an image-folder camera. This tests the wiring (tracks -> plate reads -> voting ->
privacy -> event -> MQTT), not the reader's accuracy (tests/plates does that).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from gateway.broker import LocalMosquitto
from gateway.events import Direction, PlateColour
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config
from tests.vision.conftest import SSD_LABELS, SSD_MODEL, shared_dir

CAR_PHOTO = "media/images/paddledet_car.jpg"
CAR_BOX = (0.27, 0.31, 0.97, 0.77)  # where COCO SSD finds the car in that photo


def read(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)


def composite(plate_file: Path) -> np.ndarray:
    img = read(shared_dir() / CAR_PHOTO)
    img = cv2.resize(img, (1280, int(img.shape[0] * 1280 / img.shape[1])))
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(v * s) for v, s in zip(CAR_BOX, (w, h, w, h), strict=True))
    crop = read(plate_file)
    pw = int((x1 - x0) * 0.3)
    ph = int(pw * crop.shape[0] / crop.shape[1])
    cx, py = (x0 + x1) // 2, int(y0 + (y1 - y0) * 0.75)
    img[py:py + ph, cx - pw // 2:cx - pw // 2 + pw] = cv2.resize(crop, (pw, ph))
    return img


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder of frames showing a parked car with a plate the reader can read."""
    from gateway.plates.reader import PlateReader

    crops = shared_dir() / "plates" / "dev_crops"
    with (crops / "labels.csv").open(encoding="utf-8") as fh:
        labels = [(row[0], row[1]) for row in list(csv.reader(fh))[1:]]
    reader = PlateReader()
    for fname, text in labels[:20]:
        img = composite(crops / fname)
        h, w = img.shape[:2]
        box = (int(CAR_BOX[0] * w), int(CAR_BOX[1] * h), int(CAR_BOX[2] * w), int(CAR_BOX[3] * h))
        if [o.text for o in reader.read_vehicle(img, box)] == [text]:
            break
    else:
        pytest.fail("the reader read none of 20 composed plates")
    folder = tmp_path_factory.mktemp("frames")
    for i in range(8):
        cv2.imwrite(str(folder / f"frame-{i:02d}.jpg"), img)
    return folder, text


def camera(folder: Path, plates: dict) -> dict:
    shared = shared_dir()
    return {"source": {"kind": "folder", "uri": str(folder), "fps": 2, "pacing": "fast"},
            "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS),
                         "min_score": 0.4},
            "motion": {"enabled": False},
            "rules": {"classes": ["car"]},
            "plates": plates}


def run(broker: LocalMosquitto, tmp_path: Path, cam: dict) -> list:
    sub = Collector(broker.port).start()
    service = GatewayService(make_config(tmp_path, broker.port, cameras={"gate": cam}))
    service.start()
    try:
        deadline = time.monotonic() + 60
        while not service.cameras[0].finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.cameras[0].error is None, service.cameras[0].error
        # The camera has finished, so every event is in the spool: wait until it drained.
        while service.spool.stats().depth and time.monotonic() < deadline + 20:
            time.sleep(0.05)
        assert sub.wait_for(lambda c: sum(m.event.type.label == "vehicle_passage"
                                          for m in c.events) >= 1, 20), [m.event for m in sub.events]
        time.sleep(0.3)
        return [m.event.body for m in sub.events if m.event.type.label == "vehicle_passage"]
    finally:
        service.stop()
        sub.stop()


def test_one_passage_per_vehicle_with_its_plate(broker: LocalMosquitto, tmp_path: Path,
                                                scene: tuple[Path, str]) -> None:
    folder, text = scene
    passages = run(broker, tmp_path, camera(folder, {"evidence": {"send_crop": True}}))
    assert len(passages) == 1
    p = passages[0]
    assert p.plate == text and p.plate_hash is None
    assert p.vehicle_class == "car" and p.camera == "gate" and p.direction == Direction.UNKNOWN
    assert p.plate_colour in (PlateColour.BLUE, PlateColour.YELLOW)
    assert len(p.char_conf) == len(text) and 0 < p.plate_conf <= 1
    assert p.crop is not None and p.crop[:2] == b"\xff\xd8"


def test_privacy_mode_sends_only_the_keyed_hash(broker: LocalMosquitto, tmp_path: Path,
                                                scene: tuple[Path, str]) -> None:
    folder, text = scene
    key = b"site-privacy-key-0123456789abcdef"
    key_file = tmp_path / "privacy.key"
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    passages = run(broker, tmp_path, camera(folder, {"privacy": {"mode": "hash",
                                                                  "key_file": str(key_file)}}))
    assert len(passages) == 1
    p = passages[0]
    assert p.plate is None
    expected = hmac.new(key, f"plate|{text}".encode(), hashlib.sha256).digest()[:16]
    assert p.plate_hash == expected


def test_preview_then_final_event_when_configured(broker: LocalMosquitto, tmp_path: Path,
                                                  scene: tuple[Path, str]) -> None:
    folder, text = scene
    passages = run(broker, tmp_path, camera(folder, {"voting": {"preview_events": True}}))
    assert [(p.preview, p.plate) for p in passages] == [(True, text), (None, text)]
    assert passages[0].track_id == passages[1].track_id
