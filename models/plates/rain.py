"""Rain laid over an image, to measure plate reading in rain (``evaluate_scenes --rain``).

No real rainy checkpoint photo is in ``../shared``, so rain is simulated the way it degrades a
camera's view: thin, bright, slanted streaks (drops in flight, motion-blurred by the exposure),
a veil that lowers contrast (spray and wet air), and a slight blur (water on the lens cover).
Strength is fixed per call by its seed; the figures it gives bound the question, they are not
a rain camera's.
"""

from __future__ import annotations

import numpy as np


def rainy(img_bgr: np.ndarray, seed: int, density: float = 0.0012, veil: float = 0.18) -> np.ndarray:
    """``img_bgr`` in rain: ``density`` streaks per pixel, a grey veil of weight ``veil``."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = img_bgr.shape[:2]
    streaks = np.zeros((h, w), np.float32)
    n = int(density * h * w)
    angle = rng.uniform(-0.35, 0.35)  # one wind direction per image (radians from vertical)
    length = rng.uniform(0.03, 0.08) * h
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        dx, dy = np.sin(angle) * length, np.cos(angle) * length
        cv2.line(streaks, (int(x), int(y)), (int(x + dx), int(y + dy)), float(rng.uniform(0.3, 0.8)), 1,
                 cv2.LINE_AA)
    streaks = cv2.GaussianBlur(streaks, (3, 3), 0)
    out = img_bgr.astype(np.float32)
    out = out * (1 - veil) + veil * 200.0  # the veil: light grey, as spray in daylight
    out = out * (1 - streaks[..., None]) + 235.0 * streaks[..., None]
    out = cv2.GaussianBlur(out, (0, 0), 0.8)  # water on the housing's window
    return np.clip(out, 0, 255).astype(np.uint8)
