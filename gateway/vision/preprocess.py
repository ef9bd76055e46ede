"""Fit a frame to the model input (stretch or letterbox) and map boxes back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gateway.vision.config import ResizeMode


@dataclass(frozen=True, slots=True)
class Transform:
    """How model-input coordinates relate to frame coordinates (both normalized 0..1).

    For letterbox, the frame occupies ``[pad_x, pad_x + scale_x]`` of the input width.
    """

    pad_x: float = 0.0
    pad_y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Map normalized input boxes [N, 4] (x1, y1, x2, y2) to normalized frame boxes."""
        out = boxes.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale_y
        return np.clip(out, 0.0, 1.0)


def fit_to_input(
    image: np.ndarray, width: int, height: int, mode: ResizeMode, *, to_rgb: bool = True
) -> tuple[np.ndarray, Transform]:
    """Return the uint8 HxWx3 model-sized image and the transform back to the frame."""
    h, w = image.shape[:2]
    if mode is ResizeMode.STRETCH:
        # INTER_AREA averages when shrinking (less aliasing than bilinear) at similar cost.
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        transform = Transform()
    else:
        scale = min(width / w, height / h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        resized_inner = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        resized = np.full((height, width, 3), 114, dtype=np.uint8)  # YOLO's grey pad value
        ox, oy = (width - nw) // 2, (height - nh) // 2
        resized[oy : oy + nh, ox : ox + nw] = resized_inner
        transform = Transform(ox / width, oy / height, nw / width, nh / height)
    if to_rgb:
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    return resized, transform
