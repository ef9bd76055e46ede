"""Shared training helpers: TensorFlow threading limits, work folder, data caches."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: Where caches and checkpoints go (outside the repository).
WORK = Path(os.environ.get("EDGEPOST_PLATES_WORK", "/work/plates-work"))
#: Where the committed models go.
MODELS_DIR = Path(__file__).resolve().parent
MEDIA_IMAGES = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "images"


def limit_threads() -> None:
    """One intra-op and one inter-op thread: training shares a 2-core machine."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def background_pool(max_images: int = 40) -> list[np.ndarray]:
    """Real images used as backgrounds at training time only (RGB; never committed).

    Images in ``../shared/media/images`` contain no Chinese plates; they provide real
    textures (cars, roads, people) for negatives and for the area around synthetic plates.
    """
    import cv2

    pool: list[np.ndarray] = []
    if not MEDIA_IMAGES.is_dir():
        return pool
    for p in sorted(MEDIA_IMAGES.iterdir()):
        if p.suffix.lower() not in (".jpg", ".png", ".bmp"):
            continue
        img = cv2.imdecode(np.fromfile(str(p), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        s = 640 / max(img.shape[:2])
        if s < 1:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        pool.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if len(pool) >= max_images:
            break
    return pool
