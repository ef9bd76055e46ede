"""Plate corners made precise: a small regressor that moves a candidate's four corners onto the plate.

Why: y5fu's corners are coarse on small plates. On development composites with plates under
60 px wide, 14 of the plates the chain missed read exactly when warped from their true corners,
and the finder's were 2-8 px off (MODEL_CARD.md, "Session 39"). HyperLPR's older corner
regressor, tried in session 39, was trained on other crops and helped little. This one is
trained on this project's own chain crops (``models/plates/train_corners.py``): a candidate's
quadrilateral, cut from the image with a margin and warped into a fixed frame, in; where the
plate's true corners lie in that frame, out.

Contract: :meth:`CornerRefiner.refine` takes a BGR ``uint8`` image and four corners (lt, rt,
rb, lb, image pixels) and returns four corners in the same pixels. The cut (:func:`cut`) and its
inverse (:func:`corners_back`) are the ones training uses, so the model sees at run time exactly
the frame it learned on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from gateway.inference import load_model
from gateway.resources import models_dir

DEFAULT_CORNER_REFINER: Final[Path] = models_dir() / "plates" / "corner_refiner_f16.tflite"

#: the refiner's input, width x height (BGR, 0-255 as float)
INPUT_SIZE: Final[tuple[int, int]] = (128, 48)
#: where a candidate's corners land in the input (x0, y0, x1, y1): a margin of 0.3 of the
#: plate's width on each side and 0.5 of its height above and below, so a true corner up to that
#: far off is still in view
INNER: Final[tuple[float, float, float, float]] = (24.0, 12.0, 104.0, 36.0)


def inner_quad() -> np.ndarray:
    """The corners of :data:`INNER` (lt, rt, rb, lb) in input pixels."""
    x0, y0, x1, y1 = INNER
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def cut(img_bgr: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The refiner's input for ``corners`` of ``img_bgr`` and the homography (image -> input)
    that made it; pixels past the image's edge are replicated."""
    import cv2

    m = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), inner_quad())
    patch = cv2.warpPerspective(
        img_bgr, m, INPUT_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return patch, m


def to_input(corners_img: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Image-pixel corners (4x2) as the refiner's target: input pixels divided by its size (8,)."""
    import cv2

    pts = cv2.perspectiveTransform(np.asarray(corners_img, np.float32).reshape(1, 4, 2), m)[0]
    return (pts / np.array(INPUT_SIZE, np.float32)).reshape(8)


def corners_back(out: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The refiner's output (8 values, input size = 1) as image-pixel corners (4x2)."""
    import cv2

    pts = np.asarray(out, np.float32).reshape(1, 4, 2) * np.array(INPUT_SIZE, np.float32)
    return cv2.perspectiveTransform(pts, np.linalg.inv(m))[0].astype(np.float32)


class CornerRefiner:
    """The corner regressor, loaded through the one TFLite seam (one interpreter, not thread-safe)."""

    def __init__(self, model_path: str | Path = DEFAULT_CORNER_REFINER, num_threads: int = 1) -> None:
        self.model = load_model(model_path, num_threads)
        if tuple(self.model.input_shape[1:]) != (INPUT_SIZE[1], INPUT_SIZE[0], 3):
            raise ValueError(
                f"{model_path}: input {self.model.input_shape}, expected 1x{INPUT_SIZE[1]}x{INPUT_SIZE[0]}x3 "
                "(models/plates/train_corners.py)"
            )

    def refine(self, img_bgr: np.ndarray, corners: np.ndarray) -> np.ndarray:
        """``corners`` (lt, rt, rb, lb) of a plate in ``img_bgr`` moved onto its edges (4x2)."""
        patch, m = cut(img_bgr, corners)
        (out,) = self.model.invoke(patch[None].astype(np.float32))
        return corners_back(out.reshape(8), m)
