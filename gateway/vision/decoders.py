"""Turn raw model outputs into boxes, scores and class ids.

Two layouts are supported:

* SSD with ``TFLite_Detection_PostProcess``: four outputs, boxes [1, N, 4] as
  (ymin, xmin, ymax, xmax) normalized, class ids [1, N], scores [1, N], count [1].
* YOLO-style raw predictions: one output [1, N, 4+C] / [1, N, 5+C] (v5, with objectness) or
  transposed [1, 4+C, N] (v8). Boxes are (cx, cy, w, h) in input pixels or normalized.
  Scores are taken as they are (exported models already apply the sigmoid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class RawDetections:
    """Decoded detections in model-input normalized coordinates (x1, y1, x2, y2)."""

    boxes: np.ndarray  # [N, 4] float32
    scores: np.ndarray  # [N] float32
    class_ids: np.ndarray  # [N] int

    @classmethod
    def empty(cls) -> RawDetections:
        """No detections."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _find_ssd_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    # The order of the four outputs differs between exports (TF1 vs TF2 object detection API);
    # recognise them by shape: boxes [1,N,4], count [1], classes vs scores by integrality.
    boxes = next(o for o in outputs if o.ndim == 3 and o.shape[-1] == 4)
    count = next(o for o in outputs if o.size == 1)
    rest = [o for o in outputs if o is not boxes and o is not count]
    if len(rest) != 2:
        raise ValueError("SSD decoder expects 4 outputs: boxes, classes, scores, count")
    a, b = rest
    a_int = bool(np.all(np.equal(np.mod(a, 1), 0)))
    b_int = bool(np.all(np.equal(np.mod(b, 1), 0)))
    classes, scores = (a, b) if a_int and not b_int else (b, a) if b_int and not a_int else (a, b)
    return boxes, classes, scores, count


def decode_ssd(outputs: list[np.ndarray], min_score: float) -> RawDetections:
    """Decode the post-processed SSD layout (outputs already dequantized to float)."""
    boxes, classes, scores, count = _find_ssd_outputs(outputs)
    n = int(np.asarray(count).reshape(-1)[0])
    n = max(0, min(n, boxes.shape[1]))
    b = boxes[0, :n]
    s = scores.reshape(-1)[:n].astype(np.float32)
    c = classes.reshape(-1)[:n].astype(np.int64)
    keep = s >= min_score
    xyxy = np.stack([b[keep, 1], b[keep, 0], b[keep, 3], b[keep, 2]], axis=1).astype(np.float32)
    return RawDetections(np.clip(xyxy, 0.0, 1.0), s[keep], c[keep])


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a [N, 4] and b [M, 4] (x1, y1, x2, y2)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    class_ids: np.ndarray | None = None,
    containment: float | None = None,
) -> np.ndarray:
    """Greedy non-maximum suppression; return kept indices, best score first.

    With ``class_ids`` boxes only suppress boxes of the same class. With ``containment`` a box
    is also suppressed when that fraction of its area lies inside a better box (a detector
    often reports a part of an object beside the whole).
    """
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(boxes), bool)
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        rest = order[pos + 1 :]
        rest = rest[~suppressed[rest]]
        if class_ids is not None:
            rest = rest[class_ids[rest] == class_ids[i]]
        if len(rest) == 0:
            continue
        ious = iou_matrix(boxes[i : i + 1], boxes[rest])[0]
        hit = ious > iou_threshold
        if containment is not None:
            x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
            y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
            x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
            y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
            inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
            smaller = np.minimum(areas[i], areas[rest])
            hit |= inter / np.maximum(smaller, 1e-12) > containment
        suppressed[rest[hit]] = True
    return np.asarray(keep, dtype=np.int64)


def decode_yolo(
    output: np.ndarray,
    input_size: tuple[int, int],
    min_score: float,
    iou_threshold: float,
    *,
    objectness: bool | None = None,
    num_classes: int | None = None,
    max_detections: int = 100,
) -> RawDetections:
    """Decode raw YOLO predictions and apply per-class NMS.

    ``input_size`` is (width, height) of the model input, used when boxes are in pixels.
    ``objectness`` None infers it: with ``num_classes`` known from the label map, a row of
    5 + C values has objectness; otherwise v8 layouts (transposed) are taken to have none.
    """
    pred = np.asarray(output, dtype=np.float32)
    if pred.ndim == 3:
        pred = pred[0]
    if pred.ndim != 2:
        raise ValueError(f"YOLO output must be [1, N, K] or [1, K, N], got {output.shape}")
    row_sizes = (4 + num_classes, 5 + num_classes) if num_classes is not None else ()
    if pred.shape[1] in row_sizes:
        transposed = False
    elif pred.shape[0] in row_sizes:
        transposed = True
    else:
        transposed = pred.shape[0] < pred.shape[1]
    if transposed:  # v8 exports [K, N] with K = 4 + C much smaller than N anchors
        pred = pred.T
    k = pred.shape[1]
    if objectness is None:
        if num_classes is not None and k == 5 + num_classes:
            objectness = True
        elif num_classes is not None and k == 4 + num_classes:
            objectness = False
        else:
            objectness = not transposed
    if k < (6 if objectness else 5):
        raise ValueError(f"YOLO rows have {k} values: too few for boxes and classes")
    cls_scores = pred[:, 5:] if objectness else pred[:, 4:]
    class_ids = np.argmax(cls_scores, axis=1)
    scores = cls_scores[np.arange(len(pred)), class_ids]
    if objectness:
        scores = scores * pred[:, 4]
    keep = scores >= min_score
    if not np.any(keep):
        return RawDetections.empty()
    xywh, scores, class_ids = pred[keep, :4], scores[keep], class_ids[keep]
    w, h = input_size
    if float(np.max(np.abs(xywh))) > 2.0:  # pixel coordinates -> normalized
        xywh = xywh / np.array([w, h, w, h], np.float32)
    boxes = np.stack(
        [
            xywh[:, 0] - xywh[:, 2] / 2,
            xywh[:, 1] - xywh[:, 3] / 2,
            xywh[:, 0] + xywh[:, 2] / 2,
            xywh[:, 1] + xywh[:, 3] / 2,
        ],
        axis=1,
    )
    kept = nms(boxes, scores, iou_threshold, class_ids)[:max_detections]
    return RawDetections(boxes[kept].astype(np.float32), scores[kept].astype(np.float32),
                         class_ids[kept].astype(np.int64))
