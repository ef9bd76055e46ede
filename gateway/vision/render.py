"""Pictures for people: annotated frames (snapshots, summary image) and bounded JPEG crops."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from gateway.vision.config import CropConfig, LineConfig, ZoneConfig
from gateway.vision.geometry import Box
from gateway.vision.tracker import Track


def _colour(track_id: int) -> tuple[int, int, int]:
    # A stable, well-separated colour per id (golden-ratio hue walk).
    hue = int((track_id * 0.618033988749895 % 1.0) * 179)
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _px(pt: Sequence[float], w: int, h: int) -> tuple[int, int]:
    return round(pt[0] * w), round(pt[1] * h)


def annotate(
    image: np.ndarray,
    *,
    tracks: Iterable[Track] = (),
    zones: Iterable[ZoneConfig] = (),
    lines: Iterable[LineConfig] = (),
    paths: bool = True,
    caption: str | None = None,
) -> np.ndarray:
    """Return a copy of ``image`` with zones, lines, track boxes, ids and paths drawn."""
    out = image.copy()
    h, w = out.shape[:2]
    overlay = out.copy()
    for z in zones:
        pts = np.array([_px(p, w, h) for p in z.polygon], np.int32)
        cv2.fillPoly(overlay, [pts], (0, 140, 255))
        cv2.polylines(out, [pts], True, (0, 140, 255), 2)
        cv2.putText(out, z.name, tuple(pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 140, 255), 1)
    cv2.addWeighted(overlay, 0.15, out, 0.85, 0, dst=out)
    for ln in lines:
        a, b = _px(ln.a, w, h), _px(ln.b, w, h)
        cv2.line(out, a, b, (255, 0, 255), 2)
        cv2.putText(out, ln.name, a, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 0, 255), 1)
        cv2.circle(out, _px(ln.inbound_side, w, h), 4, (255, 0, 255), -1)
    for tr in tracks:
        colour = _colour(tr.track_id)
        if paths and len(tr.path) > 1:
            pts = np.array([_px((x, y), w, h) for _, x, y in tr.path], np.int32)
            cv2.polylines(out, [pts], False, colour, 2)
        x1, y1 = _px(tr.box[:2], w, h)
        x2, y2 = _px(tr.box[2:], w, h)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        text = f"#{tr.track_id} {tr.label} {tr.best_score:.2f}"
        cv2.putText(out, text, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    if caption:
        cv2.putText(out, caption, (6, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return out


def crop_jpeg(image: np.ndarray, box: Box, cfg: CropConfig) -> bytes | None:
    """JPEG of the box (with padding) no larger than ``cfg.max_bytes``; None if impossible.

    The crop is scaled to ``max_side`` and the quality stepped down until it fits, then the
    size is halved: a bounded payload matters more on the uplink than the last detail.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    px, py = (x2 - x1) * cfg.padding, (y2 - y1) * cfg.padding
    left, top = max(0, int((x1 - px) * w)), max(0, int((y1 - py) * h))
    right, bottom = min(w, int((x2 + px) * w) + 1), min(h, int((y2 + py) * h) + 1)
    if right - left < 2 or bottom - top < 2:
        return None
    crop = image[top:bottom, left:right]
    side = max(crop.shape[:2])
    if side > cfg.max_side:
        scale = cfg.max_side / side
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    while min(crop.shape[:2]) >= 8:
        for quality in (85, 70, 55, 40, 25):
            ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and buf.size <= cfg.max_bytes:
                return buf.tobytes()
        crop = cv2.resize(crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return None


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """Encode a frame (e.g. an annotated snapshot) as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
