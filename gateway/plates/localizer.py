"""Plate localisation: the project's int8 TFLite segmentation model plus a classical fallback.

Both take a BGR ``uint8`` image (a vehicle crop, or a whole close-up frame) and return
:class:`PlateBox` candidates in that image's pixel coordinates, best first. Candidates are
only *places*: a plate is reported only after the recognizer and the format rules accept it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.inference import load_model
from gateway.resources import models_dir

#: The committed model (its file name keeps the British spelling users' paths already carry).
DEFAULT_LOCALIZER = models_dir() / "plates" / "localiser_int8.tflite"


@dataclass(frozen=True)
class PlateBox:
    """A plate candidate: axis-aligned box, rotation of the plate inside it, score and origin."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float
    #: rotation of the plate's long axis in degrees (positive = clockwise in image coordinates)
    angle: float = 0.0
    #: "model" or "classical"
    source: str = "model"
    #: the rotated rectangle's long and short side (px), 0 when unknown
    rect_w: float = 0.0
    rect_h: float = 0.0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def aspect(self) -> float:
        """Length over height: of the rotated rectangle where there is one, else of the box
        (infinite for a box without height)."""
        if self.rect_w > 0 and self.rect_h > 0:
            return self.rect_w / self.rect_h
        return self.width / self.height if self.height > 0 else math.inf

    @property
    def double_row(self) -> bool:
        """Aspect typical of a two-row (440x220 mm) rear plate."""
        return self.aspect < 2.3

    def iou(self, other: PlateBox) -> float:
        """Intersection over union with ``other``."""
        ix = max(0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def _usable(img: np.ndarray | None) -> bool:
    return isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 8


def _boxes_from_mask(
    prob: np.ndarray,
    threshold: float,
    min_area: int,
    source: str,
    scale: float,
    extent_threshold: float = 0.7,
) -> list[PlateBox]:
    """Connected components of ``prob > threshold`` -> boxes (coordinates divided by ``scale``).

    The box extent and angle come from the component's pixels above ``extent_threshold``
    (the stride-4 map blurs edges; at 0.5 boxes come out ~20 % too tall), falling back to the
    whole component when that core is tiny.
    """
    import cv2

    binary = (prob > threshold).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    out: list[PlateBox] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_area or w < 6 or h < 3:
            continue
        comp = labels[y : y + h, x : x + w] == i
        p = prob[y : y + h, x : x + w]
        score = float(p[comp].mean())
        # angle from the whole component (more pixels, steadier); extent from its core
        ys, xs = np.nonzero(comp)
        (_, _), (fw, fh), ang = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        if fw < fh:
            ang -= 90.0
        ang = float((ang + 90.0) % 180.0 - 90.0)
        core = comp & (p > max(threshold, extent_threshold))
        if np.count_nonzero(core) >= max(8, area // 5):
            comp = core
        ys, xs = np.nonzero(comp)
        (_, _), (rw, rh), _a = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        if rw < rh:
            rw, rh = rh, rw
        x, y = x + int(xs.min()), y + int(ys.min())
        w, h = int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
        out.append(
            PlateBox(
                int(x / scale),
                int(y / scale),
                int(np.ceil((x + w) / scale)),
                int(np.ceil((y + h) / scale)),
                score,
                ang,
                source,
                float(rw + 1) / scale,
                float(rh + 1) / scale,
            )
        )
    return out


class PlateLocalizer:
    """The int8 TFLite plate-pixel model (stride-4 output, dynamic input size)."""

    def __init__(
        self,
        model_path: str | Path = DEFAULT_LOCALIZER,
        num_threads: int = 1,
        threshold: float = 0.5,
        min_area: int = 40,
    ) -> None:
        self.model = load_model(model_path, num_threads)
        self.threshold = threshold
        self.min_area = min_area

    def _run(self, x: np.ndarray) -> np.ndarray:
        # fully convolutional: the input takes each image's own (rounded) size
        self.model.resize_input((1, *x.shape[1:3], 3))
        return self.model.run(x)[0][0, ..., 0]

    def probability_map(self, image_bgr: np.ndarray, input_size: int = 160) -> tuple[np.ndarray, float]:
        """Plate probability at the resized image's resolution, and the resize scale used."""
        import cv2

        h, w = image_bgr.shape[:2]
        scale = input_size / max(h, w)
        nw = max(16, round(w * scale / 8) * 8)
        nh = max(16, round(h * scale / 8) * 8)
        x = cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        x = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)[None].astype(np.float32)
        logits = self._run(x)
        prob = 1.0 / (1.0 + np.exp(-logits))
        prob = cv2.resize(prob, (nw, nh), interpolation=cv2.INTER_LINEAR)
        # scale per axis may differ by rounding; use the mean for mapping back
        return prob, (nw / w + nh / h) / 2

    def locate(self, image_bgr: np.ndarray, input_size: int = 160) -> list[PlateBox]:
        """Plate boxes in ``image_bgr`` (best first). ``input_size``: longest side fed to the model
        (160 for vehicle crops, 320 for whole close-up frames)."""
        if not _usable(image_bgr):
            return []
        prob, scale = self.probability_map(image_bgr, input_size)
        boxes = _boxes_from_mask(prob, self.threshold, self.min_area, "model", scale)
        return sorted(boxes, key=lambda b: -b.score)

    def refine(self, image_bgr: np.ndarray, box: PlateBox, input_size: int = 160) -> PlateBox:
        """Second pass on a zoomed region around ``box`` (plate at ~half the model input's width),
        for a tighter box when the plate was small in the first pass. Returns ``box`` unchanged
        when the second pass finds no overlapping plate."""
        h, w = image_bgr.shape[:2]
        mx, my = box.width * 0.5, box.height * 1.5
        rx0, ry0 = max(0, int(box.x0 - mx)), max(0, int(box.y0 - my))
        rx1, ry1 = min(w, int(box.x1 + mx)), min(h, int(box.y1 + my))
        if rx1 - rx0 < 16 or ry1 - ry0 < 8:
            return box
        cands = self.locate(image_bgr[ry0:ry1, rx0:rx1], input_size)
        mapped = [
            PlateBox(
                c.x0 + rx0,
                c.y0 + ry0,
                c.x1 + rx0,
                c.y1 + ry0,
                c.score,
                c.angle,
                box.source,
                c.rect_w,
                c.rect_h,
            )
            for c in cands
        ]
        mapped = [m for m in mapped if m.iou(box) >= 0.3]
        if not mapped:
            return box
        best = max(mapped, key=lambda m: m.score * (0.5 + m.iou(box)))
        return PlateBox(
            best.x0, best.y0, best.x1, best.y1, max(best.score, box.score), best.angle, box.source,
            best.rect_w, best.rect_h,
        )  # fmt: skip


class ClassicalLocalizer:
    """Colour + vertical-edge plate finder (no model): raises recall on clear, frontal plates.

    Blue, yellow and green backgrounds are found by HSV masks; white and black plates by the
    density of vertical edges (character strokes) in a horizontally closed edge map. Boxes
    must have a plate-like aspect and enough stroke edges inside.
    """

    def __init__(self, work_width: int = 480, max_candidates: int = 6) -> None:
        self.work_width = work_width
        self.max_candidates = max_candidates

    def locate(self, image_bgr: np.ndarray) -> list[PlateBox]:
        """Candidate plate boxes (best first) in ``image_bgr`` coordinates."""
        import cv2

        if not _usable(image_bgr):
            return []
        w0 = image_bgr.shape[1]
        scale = min(1.0, self.work_width / w0)
        img = (
            cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            if scale < 1
            else image_bgr
        )
        h, w = img.shape[:2]
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        sob = np.abs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3)).astype(np.float32)
        edges = (sob > max(40.0, float(np.percentile(sob, 90)))).astype(np.uint8)
        masks = [
            cv2.inRange(hsv, (100, 90, 50), (125, 255, 255)),  # blue
            cv2.inRange(hsv, (15, 90, 90), (34, 255, 255)),  # yellow
            cv2.inRange(hsv, (35, 50, 80), (85, 255, 255)),  # green
        ]
        kx = max(3, w // 40)
        ky = max(1, h // 80)
        closed_edges = cv2.morphologyEx(
            edges * 255, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kx, ky))
        )
        masks.append(
            cv2.morphologyEx(
                closed_edges,
                cv2.MORPH_OPEN,
                cv2.getStructuringElement(cv2.MORPH_RECT, (kx // 2 + 1, max(1, ky))),
            )
        )
        cands: list[PlateBox] = []
        for mi, m in enumerate(masks):
            if mi < 3:
                m = cv2.morphologyEx(
                    m,
                    cv2.MORPH_CLOSE,
                    cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 60), max(3, h // 60))),
                )
            contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for c in contours:
                x, y, bw, bh = cv2.boundingRect(c)
                if bw < 16 or bh < 5 or bw * bh < 120 or bw > 0.95 * w:
                    continue
                aspect = bw / bh
                if not 1.6 <= aspect <= 6.5:
                    continue
                fill = cv2.contourArea(c) / float(bw * bh)
                if fill < 0.45:
                    continue
                ed = float(edges[y : y + bh, x : x + bw].mean())
                if ed < 0.08:
                    continue
                # stroke transitions along the middle row: characters give many
                row = edges[y + bh // 2, x : x + bw]
                transitions = int(np.count_nonzero(np.diff(row.astype(np.int8)) != 0))
                if transitions < 8:
                    continue
                colour_bonus = 0.15 if mi < 3 else 0.0
                score = min(1.0, 0.3 + colour_bonus + 0.5 * min(1.0, ed / 0.3) * min(1.0, fill))
                cands.append(
                    PlateBox(
                        int(x / scale),
                        int(y / scale),
                        int((x + bw) / scale),
                        int((y + bh) / scale),
                        score,
                        0.0,
                        "classical",
                    )
                )
        cands.sort(key=lambda b: -b.score)
        return nms(cands, 0.5)[: self.max_candidates]


def nms(boxes: list[PlateBox], iou: float = 0.4) -> list[PlateBox]:
    """Greedy non-maximum suppression (input order = priority)."""
    keep: list[PlateBox] = []
    for b in boxes:
        if all(b.iou(k) < iou for k in keep):
            keep.append(b)
    return keep
