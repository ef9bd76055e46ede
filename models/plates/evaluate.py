"""Evaluate the committed plate models with the runtime interpreter (no TensorFlow needed).

python -m models.plates.evaluate            # recognizer on the validation split
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from models.plates import split as dsplit


def evaluate_recognizer(model_path: Path | None = None, rows: list[tuple[str, str]] | None = None) -> dict:
    """Exact-match and character accuracy of the recognizer on the validation split."""
    from gateway.plates.recognizer import PlateRecognizer

    rec = PlateRecognizer(model_path) if model_path else PlateRecognizer()
    if rows is None:
        _, rows = dsplit.split()
    exact = 0
    chars_ok = 0
    chars_total = 0
    errors = []
    for fname, text in rows:
        img = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / fname)
        read = rec.read(img)
        pred = read.text
        exact += int(pred == text)
        chars_total += len(text)
        # character accuracy: position-wise when lengths match, else via edit distance
        if len(pred) == len(text):
            chars_ok += sum(a == b for a, b in zip(pred, text, strict=True))
        else:
            from gateway.plates.watchlist import levenshtein

            chars_ok += max(0, len(text) - levenshtein(pred, text))
        if pred != text:
            errors.append((fname, text, pred))
    n = len(rows)
    return {
        "n": n,
        "exact_match": exact / n if n else 0.0,
        "char_accuracy": chars_ok / chars_total if chars_total else 0.0,
        "errors": errors,
    }


if __name__ == "__main__":
    p = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(json.dumps(evaluate_recognizer(p), ensure_ascii=False, indent=1))


def composite_scenes(
    n: int = 100, seed: int = 5, size: tuple[int, int] = (200, 260), rows: list[tuple[str, str]] | None = None
):
    """Deterministic semi-real scenes for localiser evaluation (no TensorFlow, no Pillow).

    Each scene is a crop of a real photo from ``../shared/media/images`` (no Chinese plates
    there) with one *validation-split* dev crop pasted at 15-45 % of the width with a mild
    perspective warp: a stand-in for a vehicle crop. Yields ``(image_bgr, (x0, y0, x1, y1), text)``.
    """
    import cv2
    import numpy as np

    from models.plates.common import MEDIA_IMAGES

    rng = np.random.default_rng(seed)
    bgs = []
    for p in sorted(MEDIA_IMAGES.iterdir()):
        if p.suffix.lower() in (".jpg", ".png", ".bmp"):
            im = cv2.imdecode(np.fromfile(str(p), np.uint8), cv2.IMREAD_COLOR)
            if im is not None and min(im.shape[:2]) >= 200:
                bgs.append(im)
    val = rows if rows is not None else dsplit.split()[1]
    H, W = size
    for i in range(n):
        f, text = val[i % len(val)]
        plate = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / f)
        bg = bgs[int(rng.integers(len(bgs)))]
        s = float(rng.uniform(0.6, 1.0))
        ch, cw = (
            int(min(bg.shape[0], bg.shape[1] * H / W) * s),
            int(min(bg.shape[1], bg.shape[0] * W / H) * s),
        )
        y = int(rng.integers(0, bg.shape[0] - ch + 1))
        x = int(rng.integers(0, bg.shape[1] - cw + 1))
        img = cv2.resize(bg[y : y + ch, x : x + cw], (W, H), interpolation=cv2.INTER_AREA)
        pw = float(W * rng.uniform(0.15, 0.45))
        ph = pw * plate.shape[0] / plate.shape[1]
        cx = float(rng.uniform(pw / 2 + 2, W - pw / 2 - 2))
        cy = float(rng.uniform(H * 0.35, H - ph / 2 - 2))
        sh = float(rng.uniform(-0.1, 0.1)) * ph
        dst = np.array(
            [
                [cx - pw / 2 + sh, cy - ph / 2],
                [cx + pw / 2 + sh, cy - ph / 2],
                [cx + pw / 2 - sh, cy + ph / 2],
                [cx - pw / 2 - sh, cy + ph / 2],
            ],
            np.float32,
        )
        src = np.array(
            [[0, 0], [plate.shape[1], 0], [plate.shape[1], plate.shape[0]], [0, plate.shape[0]]], np.float32
        )
        M = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(
            plate, M, (W, H), flags=cv2.INTER_AREA if pw < plate.shape[1] else cv2.INTER_LINEAR
        )
        m = cv2.warpPerspective(np.full(plate.shape[:2], 255, np.uint8), M, (W, H), flags=cv2.INTER_NEAREST)
        img[m > 0] = warped[m > 0]
        box = (
            int(dst[:, 0].min()),
            int(dst[:, 1].min()),
            int(np.ceil(dst[:, 0].max())),
            int(np.ceil(dst[:, 1].max())),
        )
        yield img, box, text


def evaluate_localiser(n: int = 100, classical: bool = True) -> dict:
    """Localiser recall (a candidate with IoU >= 0.5) and end-to-end exact reads on composite scenes."""
    from gateway.plates.config import LocalizerConfig, PlatesConfig
    from gateway.plates.localizer import PlateBox
    from gateway.plates.reader import PlateReader

    cfg = PlatesConfig(localizer=LocalizerConfig(classical_fallback=classical))
    reader = PlateReader(cfg)
    found_model = found_any = exact = wrong = 0
    for img, box, text in composite_scenes(n):
        gt = PlateBox(*box, score=1.0)
        model_boxes = reader.localizer.locate(img, cfg.localizer.vehicle_input_size)
        found_model += any(b.iou(gt) >= 0.5 for b in model_boxes)
        boxes = reader.locate(img, (0, 0, img.shape[1], img.shape[0]))
        found_any += any(b.iou(gt) >= 0.5 for b in boxes)
        reads = reader.read_vehicle(img, (0, 0, img.shape[1], img.shape[0]))
        exact += any(o.text == text for o in reads)
        wrong += sum(o.text != text for o in reads)
    return {
        "n": n,
        "model_recall_iou50": found_model / n,
        "with_classical_recall_iou50": found_any / n,
        "end_to_end_exact": exact / n,
        "wrong_reads": wrong,
    }
