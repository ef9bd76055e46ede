"""Motion gate: decide cheaply whether anything moved, so the detector runs only then."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gateway.vision.config import MotionGateConfig


@dataclass(slots=True)
class MotionResult:
    """Outcome of one gate test."""

    moving: bool
    fraction: float  # fraction of unmasked pixels that changed
    box: tuple[float, float, float, float] | None  # normalized bounding box of the motion


class MotionGate:
    """Running-average background model on a small blurred grey image.

    Each frame is shrunk to ``width`` pixels wide (a few thousand pixels: well under a millisecond), blurred,
    and compared with a background that slowly follows the scene (``background_alpha``), so
    lighting drift and parked objects fade in while anything moving shows up. Pixels under
    ``masks`` never count. The first frame only primes the background and reports motion, so
    the detector looks at the scene once at start-up.
    """

    def __init__(self, cfg: MotionGateConfig) -> None:
        self.cfg = cfg
        self._bg: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None
        self._kernel = cfg.blur if cfg.blur % 2 == 1 else cfg.blur + 1

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        sw = min(self.cfg.width, w)
        sh = max(1, round(h * sw / w))
        # Shrink first (bilinear: ~20x cheaper than area averaging at this ratio), then grey;
        # the blur below removes the aliasing noise that bilinear sampling lets through.
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_LINEAR)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        if self._kernel > 1:
            small = cv2.GaussianBlur(small, (self._kernel, self._kernel), 0)
        return small

    def _build_mask(self, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        keep = np.full((h, w), 255, np.uint8)
        for poly in self.cfg.masks:
            pts = np.array([[x * w, y * h] for x, y in poly], np.int32)
            cv2.fillPoly(keep, [pts], 0)
        return keep

    def reset(self) -> None:
        """Forget the background (after a source reopen the scene may have changed)."""
        self._bg = None

    def test(self, image: np.ndarray) -> MotionResult:
        """Update the background with ``image`` and report whether it moved."""
        small = self._small(image)
        if self._bg is None or self._shape != small.shape:
            self._shape = small.shape
            self._bg = small.astype(np.float32)
            self._mask = self._build_mask(small.shape)
            return MotionResult(True, 1.0, (0.0, 0.0, 1.0, 1.0))
        diff = cv2.absdiff(small, cv2.convertScaleAbs(self._bg))
        _, moving = cv2.threshold(diff, self.cfg.pixel_threshold, 255, cv2.THRESH_BINARY)
        moving = cv2.bitwise_and(moving, self._mask)
        count = int(cv2.countNonZero(moving))
        total = max(1, int(cv2.countNonZero(self._mask)))
        fraction = count / total
        cv2.accumulateWeighted(small, self._bg, self.cfg.background_alpha)
        box = None
        if count:
            x, y, w, h = cv2.boundingRect(moving)
            sh, sw = small.shape
            box = (x / sw, y / sh, (x + w) / sw, (y + h) / sh)
        return MotionResult(fraction >= self.cfg.min_area, fraction, box)
