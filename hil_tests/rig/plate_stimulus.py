"""A generated video stimulus with a readable plate, for rigs without a plate camera.

None of the shared sample videos shows a legible mainland plate (the car video is filmed
from straight above), so the simulated rig composes one at test time from shared data: a
real dev-set plate crop pasted onto the rear of the car in a real photo, driven from the
bottom of the picture to the top (inbound across a line at y = 0.5). Nothing is committed;
the clip is written to a temporary folder.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from hil_tests.rig.model import shared_path

GENERATED = "generated:plate-pass"
CAR_PHOTO = "media/images/paddledet_car.jpg"
CAR_BOX = (0.27, 0.31, 0.97, 0.77)  # where COCO SSD finds the car in that photo
PLATE_INDEX = 1  # dev_crops/labels.csv row whose plate is pasted


def _read(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)


def make_plate_clip(out_dir: Path, width: int = 640, height: int = 480, fps: int = 10
                    ) -> tuple[Path, str]:
    """Write the clip; return its path and the plate text it shows."""
    crops = shared_path("plates/dev_crops")
    with (crops / "labels.csv").open(encoding="utf-8") as fh:
        fname, text = list(csv.reader(fh))[1:][PLATE_INDEX]
    photo = _read(shared_path(CAR_PHOTO))
    photo = cv2.resize(photo, (1280, int(photo.shape[0] * 1280 / photo.shape[1])))
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = (int(v * s) for v, s in zip(CAR_BOX, (w, h, w, h), strict=True))
    plate = _read(crops / fname)
    pw = int((x1 - x0) * 0.3)
    ph = int(pw * plate.shape[0] / plate.shape[1])
    cx, py = (x0 + x1) // 2, int(y0 + (y1 - y0) * 0.75)
    photo[py:py + ph, cx - pw // 2:cx - pw // 2 + pw] = cv2.resize(plate, (pw, ph))
    car = photo[max(0, y0 - 20):y1 + 20, max(0, x0 - 20):x1 + 20]
    car = cv2.resize(car, (360, int(car.shape[0] * 360 / car.shape[1])))
    background = np.full((height, width, 3), 90, np.uint8)
    cv2.randn(background, 90, 8)
    path = out_dir / "plate-pass.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    ch, cw = car.shape[:2]
    steps = 6 * fps
    for i in range(steps + 2 * fps):  # 6 s of driving, 2 s of empty road
        frame = background.copy()
        top = int(height - (height + ch) * min(i, steps) / steps)
        a, b = max(0, top), min(height, top + ch)
        if b > a:
            frame[a:b, (width - cw) // 2:(width - cw) // 2 + cw] = car[a - top:b - top]
        writer.write(frame)
    writer.release()
    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"OpenCV could not write {path} (no mp4v encoder?)")
    return path, text
