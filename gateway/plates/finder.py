"""Frame plate finder: HyperLPR3's y5fu 320 detector (TFLite) with four corners per plate.

Why: the project's own localiser is a stride-4 segmentation map trained on composites; on real
checkpoint scenes it misses or mis-frames plates, and its axis-aligned boxes cut tilted plates
badly. y5fu (Apache-2.0, HyperLPR3) is a YOLOv5-style detector trained on real Chinese road
scenes that returns, per plate, a box, its four corner points and whether it is a single- or
double-row plate. The corners let the reader warp the plate flat before reading it.

Contract: :meth:`PlateFinder.find` takes any BGR ``uint8`` image (a whole frame or a vehicle
crop) and returns :class:`FoundPlate` candidates in that image's pixel coordinates, best
first, after NMS. Candidates are places only; the recognizer and the format rules decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.inference import load_model

DEFAULT_FINDER = Path(__file__).resolve().parents[2] / "models" / "plates" / "plate_finder_y5fu320_f16.tflite"

#: objectness x class score under which a row is no candidate: low on purpose, the recognizer
#: and the format rules reject what is not a plate, and a missed plate cannot be read at all
SCORE_THRESHOLD = 0.3
#: boxes overlapping more than this are the same plate (HyperLPR3 uses 0.5 too)
NMS_IOU = 0.5
#: the letterbox pads with black, as the model was trained
PAD_VALUE = 0


@dataclass(frozen=True)
class FoundPlate:
    """One plate candidate: score, corners (lt, rt, rb, lb as x, y) and row layout."""

    score: float
    #: 4x2 float32 corners, clockwise from top left, in the searched image's pixels
    corners: np.ndarray
    #: axis-aligned box (x0, y0, x1, y1) of the detector, in the same pixels
    box: tuple[float, float, float, float]
    double_row: bool = False

    @property
    def width(self) -> float:
        """Length of the plate's top and bottom edges, averaged (px)."""
        c = self.corners
        return float((np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2)

    @property
    def height(self) -> float:
        """Length of the plate's left and right edges, averaged (px)."""
        c = self.corners
        return float((np.linalg.norm(c[3] - c[0]) + np.linalg.norm(c[2] - c[1])) / 2)


def letterbox(img_bgr: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Scale ``img_bgr`` to fit ``size`` x ``size`` (top left, black padding); RGB float 0..1 NHWC.

    Returns the ``(size, size, 3)`` array and the scale (model px per image px)."""
    import cv2

    h, w = img_bgr.shape[:2]
    r = min(size / h, size / w)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    small = cv2.resize(img_bgr, (nw, nh), interpolation=interp)
    out = np.full((size, size, 3), PAD_VALUE, np.float32)
    out[:nh, :nw] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    out *= 1.0 / 255.0
    return out, r


def nms_xyxy(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        union = area[i] + area[rest] - inter
        order = rest[inter / np.maximum(union, 1e-6) <= iou]
    return keep


def decode(
    rows: np.ndarray, scale: float, score_threshold: float = SCORE_THRESHOLD, iou: float = NMS_IOU
) -> list[FoundPlate]:
    """y5fu's ``(N, 15)`` rows (cx, cy, w, h, obj, 4 corners, 2 class scores; model pixels)
    -> plates in image pixels (divided by ``scale``), best first."""
    cls = rows[:, 13:15] * rows[:, 4:5]
    score = cls.max(axis=1)
    sel = score > score_threshold
    if not sel.any():
        return []
    r, score, kind = rows[sel], score[sel], cls[sel].argmax(axis=1)
    xyxy = np.stack(
        [r[:, 0] - r[:, 2] / 2, r[:, 1] - r[:, 3] / 2, r[:, 0] + r[:, 2] / 2, r[:, 1] + r[:, 3] / 2], axis=1
    )
    out = []
    for i in nms_xyxy(xyxy, score, iou):
        b = xyxy[i] / scale
        out.append(
            FoundPlate(
                float(score[i]),
                (r[i, 5:13].reshape(4, 2) / scale).astype(np.float32),
                (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                bool(kind[i] == 1),
            )
        )
    return out


def rectify(
    img_bgr: np.ndarray,
    corners: np.ndarray,
    size: tuple[int, int],
    margin: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Warp the quadrilateral ``corners`` (lt, rt, rb, lb) flat into a ``size`` (w, h) image,
    widened by ``margin`` (share of the plate's width, height) on each side."""
    import cv2

    w, h = size
    # the plate spans the output minus the margins: margin m of the plate on each side
    mx, my = w * margin[0] / (1 + 2 * margin[0]), h * margin[1] / (1 + 2 * margin[1])
    dst = np.array([[mx, my], [w - mx, my], [w - mx, h - my], [mx, h - my]], np.float32)
    m = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), dst)
    return cv2.warpPerspective(img_bgr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


#: a two-row plate (GA 36: 440x220 mm) has its 2 top characters in the upper 38 % of the height,
#: between 20 % and 80 % of the width; the 5 big characters fill the rest
ROW_SPLIT, TOP_INSET = 0.38, 0.2
#: the top row's characters are wide and short: squeezed to single-row proportions after scaling
TOP_SQUEEZE = 0.45


def merge_rows(flat_bgr: np.ndarray) -> np.ndarray:
    """A flat two-row plate laid out as one row (top characters first) for the single-row reader."""
    import cv2

    h, w = flat_bgr.shape[:2]
    top = flat_bgr[
        : max(1, int(h * ROW_SPLIT)),
        int(w * TOP_INSET) : max(int(w * TOP_INSET) + 1, int(w * (1 - TOP_INSET))),
    ]
    bottom = flat_bgr[int(h * ROW_SPLIT) :]
    tw = max(4, round(bottom.shape[0] * top.shape[1] / top.shape[0] * TOP_SQUEEZE))
    top = cv2.resize(top, (tw, bottom.shape[0]), interpolation=cv2.INTER_AREA)
    return np.hstack([top, bottom])


class PlateFinder:
    """The y5fu detector, loaded through the one TFLite seam (one interpreter, not thread-safe)."""

    def __init__(
        self,
        model_path: str | Path = DEFAULT_FINDER,
        num_threads: int = 1,
        score_threshold: float = SCORE_THRESHOLD,
    ) -> None:
        self.model = load_model(model_path, num_threads)
        self.size = self.model.input_shape[1]
        self.score_threshold = score_threshold

    def raw(self, img_bgr: np.ndarray) -> tuple[np.ndarray, float]:
        """The model's ``(N, 15)`` rows for ``img_bgr`` and the letterbox scale."""
        x, scale = letterbox(img_bgr, self.size)
        (rows,) = self.model.invoke(x[None])
        return rows[0], scale

    def find(self, img_bgr: np.ndarray) -> list[FoundPlate]:
        """Plate candidates in ``img_bgr``, best first ([] for unusable input)."""
        if not isinstance(img_bgr, np.ndarray) or img_bgr.ndim != 3 or min(img_bgr.shape[:2]) < 8:
            return []
        rows, scale = self.raw(img_bgr)
        return decode(rows, scale, self.score_threshold)
