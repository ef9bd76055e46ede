"""The fixed train/validation split of ``../shared/plates/dev_crops`` (no TensorFlow needed).

A crop is in the **validation** split when the first byte of SHA-256 over its UTF-8 file name
is divisible by 4 (about a quarter of the crops: 121 of the 504, all 7-character). The rule depends on the
file name only, so it is stable whatever the order of ``labels.csv`` or the machine; the
validation crops are never used for training or tuning decisions of the model weights.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

DEFAULT_DEV_CROPS = Path(__file__).resolve().parents[2].parent / "shared" / "plates" / "dev_crops"


def is_validation(filename: str) -> bool:
    """True when ``filename`` (base name, as in labels.csv) belongs to the validation split."""
    return hashlib.sha256(filename.encode("utf-8")).digest()[0] % 4 == 0


def read_labels(root: Path = DEFAULT_DEV_CROPS) -> list[tuple[str, str]]:
    """``(filename, plate_text)`` rows of ``labels.csv`` in file order."""
    with open(root / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2]


def load_crop_bgr(path: Path) -> np.ndarray:
    """Read an image whose path may contain CJK characters (format from content); BGR uint8."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode {path}")
    return img


def load_crop_rgb(path: Path) -> np.ndarray:
    """As :func:`load_crop_bgr`, in RGB order (the training code's order)."""
    return np.ascontiguousarray(load_crop_bgr(path)[..., ::-1])


#: Crops of labels.csv that show no plate (file name -> what it shows), left out of training
#: (:func:`training_rows`). Found in session 42 by pasting development crops into scenes: the
#: recognizer, trained on it, reads the sign as its label (learnt by heart), so it only ever
#: taught noise. The shipped models were trained with it; a retrain leaves it out. The split
#: itself keeps it, so that the development scene sets draw the same placements as before.
NOT_PLATES: dict[str, str] = {
    "皖AJ0J22.jpg": "a dark sign reading 合肥城泊, not a plate",
}


def split(root: Path = DEFAULT_DEV_CROPS) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(train_rows, validation_rows)``."""
    rows = read_labels(root)
    train = [r for r in rows if not is_validation(r[0])]
    val = [r for r in rows if is_validation(r[0])]
    return train, val


def training_rows(root: Path = DEFAULT_DEV_CROPS) -> list[tuple[str, str]]:
    """The training side without :data:`NOT_PLATES`: what the training scripts learn from."""
    return [r for r in split(root)[0] if r[0] not in NOT_PLATES]
