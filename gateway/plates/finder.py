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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.inference import TfliteModel, load_model
from gateway.resources import models_dir

_MODELS = models_dir() / "plates"
#: whole frames: 320 px input, as the peer runs it
DEFAULT_FINDER = _MODELS / "plate_finder_y5fu320_f16.tflite"
#: vehicle crops: the same weights at 160 px input (a plate fills more of a vehicle crop), ~4x faster
DEFAULT_VEHICLE_FINDER = _MODELS / "plate_finder_y5fu160_f16.tflite"
#: wide frames (16:9, a checkpoint camera's): the same weights at 320 x 192. Letterboxed into
#: 320 x 320, a 16:9 frame is 44 % black padding; the wide finder convolves only what the frame
#: fills, at the same scale (YOLOv5's rectangular inference). A 320 x 256 finder for 4:3 frames was
#: measured and not shipped (MODEL_CARD.md, "Wide frames")
DEFAULT_WIDE_FINDERS = (_MODELS / "plate_finder_y5fu320x192_f16.tflite",)
#: wide vehicle boxes (a car's box is wider than tall, about 4:3): the vehicle finder's weights
#: at 160 x 128, for the same reason (MODEL_CARD.md, "Session 37")
DEFAULT_VEHICLE_WIDE_FINDERS = (_MODELS / "plate_finder_y5fu160x128_f16.tflite",)

#: YOLOv5-face anchors (w, h in input pixels) per stride, read from y5fu's ONNX decode graph
#: (``tools/plates/convert_y5fu.py`` checks this decode against ONNX Runtime's built-in one)
ANCHORS: dict[int, tuple[tuple[float, float], ...]] = {
    8: ((4, 5), (8, 10), (13, 16)),
    16: ((23, 29), (43, 55), (73, 105)),
    32: ((146, 217), (231, 300), (335, 433)),
}

#: objectness x class score under which a row is no candidate: low on purpose, the recognizer
#: and the format rules reject what is not a plate, and a missed plate cannot be read at all
SCORE_THRESHOLD = 0.3
#: boxes overlapping more than this are the same plate (HyperLPR3 uses 0.5 too)
NMS_IOU = 0.5
#: tiles of a large search overlap by a quarter, so a plate cut by one tile is whole in the next
TILE_STEP = 0.75
#: the letterbox pads with black, as the model was trained
PAD_VALUE = 0
#: cv2.INTER_AREA (3): area averaging against aliasing; 0.6-0.9 ms more than INTER_LINEAR per frame
#: but 1-2 more exact reads in each training-side scene set (real full, real halved, composites)
LETTERBOX_INTERPOLATION = 3
#: :func:`shrink` halves first where the image is at least this many times the size (or an even
#: whole multiple of it)
HALVE_FROM = 3.0


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


def shrink(img_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """``img_bgr`` resized to ``width`` x ``height`` with :data:`LETTERBOX_INTERPOLATION`.

    Large shrinks are first halved with a 2:1 area average, and only the last step is OpenCV's
    general area resize (:func:`_halves` says when). Why: OpenCV's 2:1 area average is several
    times faster than its general one, which dominates large shrinks (1280x720 to 320 x 180:
    0.91 against 0.16 ms; a 572x428 vehicle box to the 160 px finder: 0.88 against 0.41 ms, on
    an AMD EPYC). An even whole multiple ends as INTER_AREA's own box average, within one grey
    level of rounding; any other size from :data:`HALVE_FROM` times up (an odd last row or column
    left out: at most one pixel at the far edge) as a box average up to 2 px wider: a few reads
    flip, both ways (MODEL_CARD.md, "Session 37"). Under :data:`HALVE_FROM` times, and at odd
    whole multiples, it is INTER_AREA's result exactly."""
    import cv2

    h, w = img_bgr.shape[:2]
    while LETTERBOX_INTERPOLATION == cv2.INTER_AREA and _halves(w, h, width, height):
        w, h = w // 2, h // 2
        img_bgr = cv2.resize(img_bgr[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) == (width, height):
        return img_bgr
    return cv2.resize(img_bgr, (width, height), interpolation=LETTERBOX_INTERPOLATION)


def _halves(w: int, h: int, width: int, height: int) -> bool:
    """Whether :func:`shrink` halves a ``w`` x ``h`` image on its way to ``width`` x ``height``:
    a whole multiple only while the multiple is even (then halving is exact), any other size
    while it is at least :data:`HALVE_FROM` times the target both ways."""
    if w % width == 0 and h % height == 0 and w // width == h // height:
        return (w // width) % 2 == 0
    return w >= HALVE_FROM * width and h >= HALVE_FROM * height


def letterbox(img_bgr: np.ndarray, size: int, height: int | None = None) -> tuple[np.ndarray, float]:
    """Scale ``img_bgr`` to fit ``size`` wide x ``height`` high (``size`` when None; top left,
    black padding); RGB float 0..1 NHWC.

    Returns the ``(height, size, 3)`` array and the scale (model px per image px)."""
    import cv2

    hh = size if height is None else height
    h, w = img_bgr.shape[:2]
    r = min(hh / h, size / w)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    small = shrink(img_bgr, nw, nh)
    out = np.full((hh, size, 3), PAD_VALUE, np.float32)
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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode_heads(heads: list[np.ndarray], width: int, min_objectness: float = 0.0) -> np.ndarray:
    """The three stride heads (``(1, H, W, 45)`` each, any order) -> ``(N, 15)`` rows in the
    layout of y5fu's built-in decode: cx, cy, w, h, objectness, 4 corners, 2 class scores.

    ``width`` is the model input's width in pixels. The model's graph is cut before its decode
    so one set of weights runs at any input shape (and no tensor mixes pixels and scores); this
    is that decode, in numpy. Rows whose
    objectness is not above ``min_objectness`` are dropped before decoding (a candidate's
    score is objectness x class score, so they could never pass a threshold that high):
    ~0.05 ms instead of ~0.3 ms for all rows."""
    rows = []
    # objectness is sigmoid(logit): compare logits, and decode only the survivors
    min_logit = -np.inf if min_objectness <= 0 else float(np.log(min_objectness / (1 - min_objectness)))
    # stride 8 first, as the built-in decode orders its rows (runtimes list outputs in any order)
    for h in sorted(heads, key=lambda t: -t.shape[1]):
        _, gh, gw, _ = h.shape
        stride = width // gw
        # channels are anchor-major (3 x 15); rows go anchor, then y, then x like the original's
        o = h[0].reshape(gh, gw, 3, 15).transpose(2, 0, 1, 3)
        a, gy, gx = np.nonzero(o[..., 4] > min_logit)
        o = o[a, gy, gx].astype(np.float32)  # n, 15
        grid = np.stack([gx, gy], -1).astype(np.float32)  # n, 2
        anchor = np.asarray(ANCHORS[stride], np.float32)[a]  # n, 2
        sig = _sigmoid(o)
        xy = (sig[:, 0:2] * 2 - 0.5 + grid) * stride
        wh = (sig[:, 2:4] * 2) ** 2 * anchor
        corners = o[:, 5:13].reshape(-1, 4, 2) * anchor[:, None, :] + grid[:, None, :] * stride
        rows.append(np.concatenate([xy, wh, sig[:, 4:5], corners.reshape(-1, 8), sig[:, 13:15]], -1))
    return np.concatenate(rows)


def decode(
    rows: np.ndarray, scale: float, score_threshold: float = SCORE_THRESHOLD, iou: float = NMS_IOU,
    double_row_threshold: float | None = None,
) -> list[FoundPlate]:
    """y5fu's ``(N, 15)`` rows (cx, cy, w, h, obj, 4 corners, 2 class scores; model pixels)
    -> plates in image pixels (divided by ``scale``), best first. ``double_row_threshold``: the
    score a two-row candidate needs (None: ``score_threshold``)."""
    cls = rows[:, 13:15] * rows[:, 4:5]
    score = cls.max(axis=1)
    if double_row_threshold is None:
        sel = score > score_threshold
    else:
        sel = score > np.where(cls.argmax(axis=1) == 1, double_row_threshold, score_threshold)
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
#: between 25 % and 75 % of the width; the 5 big characters fill the rest. The top row is cut
#: from 15 % to 85 %: a margin of a tenth of the width on each side keeps the province whole
#: when the finder's corners are a little off (session 9, development two-row scenes at seed
#: 137: 69 of 100 read against 63 when cut at 20-80 %; MODEL_CARD.md, "Two-row plates")
ROW_SPLIT, TOP_INSET = 0.38, 0.15
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
    """The y5fu detector, loaded through the one TFLite seam (one interpreter each, not
    thread-safe).

    ``wide_model_paths``: the same weights at the square model's width and a lower height; an
    image wide enough to fit one at the square model's scale runs through the lowest that holds
    it (the same candidates, less padding convolved). Empty: the square model alone."""

    def __init__(
        self,
        model_path: str | Path = DEFAULT_FINDER,
        num_threads: int = 1,
        score_threshold: float = SCORE_THRESHOLD,
        double_row_threshold: float | None = None,
        wide_model_paths: Sequence[str | Path] = (),
    ) -> None:
        self.model = load_model(model_path, num_threads)
        self.size = self.model.input_shape[1]
        # the graph ends either at the three stride heads or (a full conversion) at the decode
        self._heads = len(self.model.outputs) == 3
        #: (input height, model) of the wide finders, lowest first
        self.wide: list[tuple[int, TfliteModel]] = []
        for path in wide_model_paths:
            m = load_model(path, num_threads)
            _, mh, mw = m.input_shape[:3]
            if mw != self.size or mh >= self.size or len(m.outputs) != 3 or not self._heads:
                raise ValueError(
                    f"{path}: input {mw}x{mh} with {len(m.outputs)} outputs; a wide finder must be "
                    f"{self.size} px wide, lower than that and cut at the three stride heads, as the "
                    "square finder must be (tools/plates/convert_y5fu.py)"
                )
            self.wide.append((mh, m))
        self.wide.sort(key=lambda t: t[0])
        self.score_threshold = score_threshold
        #: the score a two-row candidate needs (None: ``score_threshold``)
        self.double_row_threshold = double_row_threshold

    def raw(self, img_bgr: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, float]:
        """The model's ``(N, 15)`` rows for ``img_bgr`` and the letterbox scale (rows no
        candidate could come from dropped: below the thresholds, or ``floor`` when lower)."""
        h, w = img_bgr.shape[:2]
        model, height = self.model, self.size
        rows_at_scale = h * self.size / max(h, w)  # the image's height in the square model
        for mh, m in self.wide:
            if rows_at_scale <= mh:
                model, height = m, mh
                break
        x, scale = letterbox(img_bgr, self.size, height)
        outs = model.invoke(x[None])
        if self._heads:
            lowest = self._lowest_threshold() if floor is None else min(floor, self._lowest_threshold())
            return decode_heads(outs, self.size, lowest), scale
        return outs[0][0], scale

    def find_tiled(
        self, img_bgr: np.ndarray, search_size: int, floor: float | None = None
    ) -> list[FoundPlate]:
        """As :meth:`find`, with the image searched at ``search_size`` px on its longest side.

        Above the model's own size the image is cut into overlapping tiles that each map onto
        the model's input at that resolution (small plates in large frames; costs one invoke
        per tile). At or below it this is :meth:`find`."""
        if not isinstance(img_bgr, np.ndarray) or img_bgr.ndim != 3 or min(img_bgr.shape[:2]) < 8:
            return []
        h, w = img_bgr.shape[:2]
        scale = search_size / max(h, w)
        tile = int(self.size / scale)  # image pixels that one model input covers
        if search_size <= self.size or tile >= max(h, w):
            return self.find(img_bgr, floor)
        step = max(1, int(tile * TILE_STEP))
        found: list[FoundPlate] = []
        for y0 in sorted({*range(0, max(1, h - tile), step), max(0, h - tile)}):
            for x0 in sorted({*range(0, max(1, w - tile), step), max(0, w - tile)}):
                for p in self.find(img_bgr[y0 : y0 + tile, x0 : x0 + tile], floor):
                    b = p.box
                    found.append(
                        FoundPlate(
                            p.score,
                            p.corners + np.array([x0, y0], np.float32),
                            (b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0),
                            p.double_row,
                        )
                    )
        if not found:
            return []
        keep = nms_xyxy(np.array([p.box for p in found]), np.array([p.score for p in found]), NMS_IOU)
        return sorted((found[i] for i in keep), key=lambda p: not self.passes(p))  # passing first

    def find(self, img_bgr: np.ndarray, floor: float | None = None) -> list[FoundPlate]:
        """Plate candidates in ``img_bgr``, best first ([] for unusable input).

        ``floor``: candidates down to this score that do not overlap a passing one follow the
        passing ones (faint ones, for a closer look); :meth:`passes` tells them apart. The
        passing candidates are the same with or without it."""
        if not isinstance(img_bgr, np.ndarray) or img_bgr.ndim != 3 or min(img_bgr.shape[:2]) < 8:
            return []
        rows, scale = self.raw(img_bgr, floor)
        found = decode(rows, scale, self.score_threshold, double_row_threshold=self.double_row_threshold)
        if floor is None:
            return found
        faint = [p for p in decode(rows, scale, min(floor, self._lowest_threshold())) if not self.passes(p)]
        if not faint:
            return found
        # a faint candidate on a passing one is the same plate: ranking every passing one first,
        # suppression keeps only faint ones elsewhere
        both = found + faint
        ranks = np.array([2.0 + p.score for p in found] + [p.score for p in faint])
        keep = nms_xyxy(np.array([p.box for p in both]), ranks, NMS_IOU)
        return found + [both[i] for i in keep if i >= len(found)]

    def passes(self, p: FoundPlate) -> bool:
        """Whether ``p`` clears this finder's threshold for its kind (one or two rows)."""
        if p.double_row and self.double_row_threshold is not None:
            return p.score > self.double_row_threshold
        return p.score > self.score_threshold

    def _lowest_threshold(self) -> float:
        if self.double_row_threshold is None:
            return self.score_threshold
        return min(self.score_threshold, self.double_row_threshold)
