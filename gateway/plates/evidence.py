"""Bounded JPEG evidence crops for plate events."""

from __future__ import annotations

import numpy as np


def evidence_jpeg(crop_bgr: np.ndarray, max_bytes: int = 6000, max_width: int = 240) -> bytes | None:
    """Encode ``crop_bgr`` as JPEG of at most ``max_bytes``: downscale to ``max_width``, then lower
    quality (85 -> 30), then halve the size, until it fits. None for unusable input or no fit."""
    import cv2

    if not isinstance(crop_bgr, np.ndarray) or crop_bgr.ndim != 3 or min(crop_bgr.shape[:2]) < 2:
        return None
    img = crop_bgr
    if img.shape[1] > max_width:
        s = max_width / img.shape[1]
        img = cv2.resize(img, (max_width, max(1, int(img.shape[0] * s))), interpolation=cv2.INTER_AREA)
    while min(img.shape[:2]) >= 8:
        for q in (85, 70, 55, 40, 30):
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok and len(buf) <= max_bytes:
                return buf.tobytes()
        img = cv2.resize(
            img, (max(1, img.shape[1] // 2), max(1, img.shape[0] // 2)), interpolation=cv2.INTER_AREA
        )
    return None
