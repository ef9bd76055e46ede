"""Shared training helpers: TensorFlow threading limits, work folder, data caches."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Where caches and checkpoints go (outside the repository).
WORK = Path(os.environ.get("EDGEPOST_PLATES_WORK", "/work/plates-work"))
#: Where the committed models go.
MODELS_DIR = Path(__file__).resolve().parent
MEDIA_IMAGES = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "images"


def limit_threads() -> None:
    """One intra-op and one inter-op thread: training shares a 2-core machine.

    ``EDGEPOST_TRAIN_THREADS`` raises the intra-op count when a run has the machine to itself."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(os.environ.get("EDGEPOST_TRAIN_THREADS", "1")))
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


def scene_background_pool(max_images: int = 60) -> list[np.ndarray]:
    """Real backgrounds for recognizer samples from the *training-side* toll-lane photos (RGB).

    The band above each plate (grille, bonnet, lights) and the band below it (bumper, road),
    with the drawn overlay masked; the plate itself is never in a patch. Unlike
    :func:`background_pool` nothing here comes from ``../shared/media/images``, whose photos
    the negative tests read (a recognizer must not learn them, not even as backgrounds)."""
    import cv2

    from models.plates import real_scenes

    pool: list[np.ndarray] = []
    try:
        labels = real_scenes.split()[0]
    except FileNotFoundError:
        return pool
    for label in labels[:max_images]:
        img = cv2.cvtColor(real_scenes.load_masked(label), cv2.COLOR_BGR2RGB)
        _, y, _, h = label.box
        above = img[max(0, y - 3 * h) : max(0, y - h // 2)]
        below = img[y + h + h // 2 :]
        for band in (above, below):
            if band.shape[0] >= 24 and band.shape[1] >= 96:
                pool.append(np.ascontiguousarray(band))
    return pool


def cached_arrays(name: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays saved as ``name`` in the work folder, or ``build()``'s, saved there first.

    Training sets take minutes to cut; a second run with the same size and seed (the name says
    which) reuses them."""
    path = WORK / name
    if path.exists():
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    arrays = build()
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays
