"""Fit a frame to the model input (stretch or letterbox) and map boxes back.

Why a fitter object with its own buffers: this runs before every detector invoke, on the
same frame and input sizes each time. Resizing into preallocated arrays avoids allocating
(and page-faulting) new ones per frame, bilinear resizing costs ~0.2 ms where area averaging
cost 2-3 ms at 768x432 -> 300x300, and the colour swap happens in place. Bilinear is also
what the TensorFlow detection models were trained with (``tf.image.resize``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gateway.vision.config import ResizeMode

INTERPOLATION = cv2.INTER_LINEAR  # bilinear, as the models' own training preprocessing
PAD_VALUE = 114  # YOLO's grey letterbox padding


def limit_opencv_threads(threads: int = 1) -> None:
    """Keep OpenCV's own worker pool from competing with the camera threads.

    Why: the gateway already runs one thread per camera plus the detector's; OpenCV's
    parallel_for would add a pool of its own (one thread per core) for a 0.2 ms resize,
    whose wake-ups and per-thread allocations cost more than they save on a loaded Pi."""
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)


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


class InputFitter:
    """Fits frames to one model input size, reusing its buffers (one per camera thread).

    The array :meth:`fit` returns is overwritten by the next call: use it before then.
    """

    def __init__(self, width: int, height: int, mode: ResizeMode, *, to_rgb: bool = True) -> None:
        self.width, self.height, self.mode, self.to_rgb = width, height, mode, to_rgb
        self._out = np.empty((height, width, 3), np.uint8)
        self._inner: np.ndarray | None = None  # letterbox: the resized frame before padding
        self._key: tuple[int, int] | None = None  # the frame size the letterbox is laid out for
        self._transform = Transform()

    def fit(self, image: np.ndarray) -> tuple[np.ndarray, Transform]:
        """The uint8 HxWx3 model-sized image (RGB unless ``to_rgb`` is off) and the transform
        back to the frame."""
        out = self._out
        if self.mode is ResizeMode.STRETCH:
            cv2.resize(image, (self.width, self.height), dst=out, interpolation=INTERPOLATION)
        else:
            h, w = image.shape[:2]
            if self._key != (w, h):
                self._layout(w, h)
            inner = self._inner
            assert inner is not None
            cv2.resize(image, (inner.shape[1], inner.shape[0]), dst=inner,
                       interpolation=INTERPOLATION)
            t = self._transform
            ox, oy = round(t.pad_x * self.width), round(t.pad_y * self.height)
            out[oy:oy + inner.shape[0], ox:ox + inner.shape[1]] = inner
        if self.to_rgb:
            cv2.cvtColor(out, cv2.COLOR_BGR2RGB, dst=out)
        return out, self._transform

    def _layout(self, w: int, h: int) -> None:
        scale = min(self.width / w, self.height / h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        ox, oy = (self.width - nw) // 2, (self.height - nh) // 2
        self._inner = np.empty((nh, nw, 3), np.uint8)
        self._out[:] = PAD_VALUE  # the padding stays; only the frame area is rewritten
        self._transform = Transform(ox / self.width, oy / self.height, nw / self.width,
                                    nh / self.height)
        self._key = (w, h)


def fit_to_input(
    image: np.ndarray, width: int, height: int, mode: ResizeMode, *, to_rgb: bool = True
) -> tuple[np.ndarray, Transform]:
    """Return a new uint8 HxWx3 model-sized image and the transform back to the frame."""
    out, transform = InputFitter(width, height, mode, to_rgb=to_rgb).fit(image)
    return out, transform
