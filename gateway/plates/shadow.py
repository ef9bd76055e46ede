"""A hard shadow across a plate, evened out before the plate is read.

Why: a shadow edge across a plate (a pole, a gantry, the car's own body in low sun) leaves part of
the characters at a third of the brightness of the rest, and the recognizer, trained on evenly
lit plates, reads the dark part as other characters, often confidently (the `shadow_half`
condition of ``models/plates/conditions.py``). The plate's brightest level (its white characters,
or a yellow plate's background) should be about the same in every column; where it is not, the
recognizer's input is brightened column by column until it is.

Only plates with a deep dip in that level are touched: on evenly lit plates the darkest column's
level is seldom under half the brightest's, and brightening every plate cost reads (of 1500
synthetic and 63 real calibration crops read alone, 22 and 1 fewer read right; session 36).
:func:`even_out` is given the plate in the recognizer's input layout (RGB, any float or integer
type) and leaves it alone unless the gate holds.
"""

from __future__ import annotations

import numpy as np

#: a plate whose darkest column level is under this share of its brightest is shadowed. On the
#: training side (session 36): 0 of 111 toll-lane plates as photographed, 9 of 383 tight CCPD
#: crops and 62 of 1500 synthetic crops reach it; 109 of the 111 plates with their left half in a
#: 35 % shadow do, and 77 with their left quarter
SHADOW_RATIO = 0.4
#: the column level: this percentile of the column's grey values (its bright strokes or background)
LEVEL_PERCENTILE = 95.0
#: the level is smoothed over this share of the width (about one character pitch), so that the gaps
#: between characters, with no bright stroke, do not count as shadow
SMOOTH_SHARE = 1 / 8
#: no column is brightened more than this (a shadow at 25 % brightness or darker stays darker)
MAX_GAIN = 4.0


def sorted_columns(rgb: np.ndarray) -> np.ndarray:
    """The grey values of each column of ``rgb`` (``(H, W, 3)``), sorted: a ``(W, H)`` array.

    Sorted in place as rows of the transposed grey image (numpy's vectorised sort): a percentile
    of every column then costs nothing more. ``numpy.percentile`` took about 90 µs a read and
    ``numpy.partition`` 25 µs on real crops, this about 8 µs."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    columns = np.ascontiguousarray(grey.T)
    columns.sort(axis=1)
    return columns


def smoothed_level(columns: np.ndarray, percentile: float) -> np.ndarray:
    """``numpy.percentile``'s ``percentile`` (linear between ranks) of each row of
    :func:`sorted_columns`' result, smoothed over :data:`SMOOTH_SHARE` of the width."""
    import cv2

    pos = percentile / 100 * (columns.shape[1] - 1)
    lo = int(pos)
    hi = min(lo + 1, columns.shape[1] - 1)
    level = columns[:, lo] + (pos - lo) * (columns[:, hi] - columns[:, lo])
    k = max(3, round(columns.shape[0] * SMOOTH_SHARE)) | 1
    return cv2.blur(level[None, :], (k, 1))[0]


def column_levels(rgb: np.ndarray, percentile: float = LEVEL_PERCENTILE) -> np.ndarray:
    """The level of each column of ``rgb`` (``(H, W, 3)``; by default its bright level), smoothed
    along the width."""
    return smoothed_level(sorted_columns(rgb), percentile)


def even_out(rgb: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray | None:
    """``rgb`` (``(H, W, 3)``, or with a batch axis of 1) with a hard shadow evened out, as float32
    in the same layout; None when it shows no shadow deep enough (:data:`SHADOW_RATIO`).
    ``columns``: :func:`sorted_columns` of the plate, when the caller has it already."""
    plate = rgb[0] if rgb.ndim == 4 else rgb
    if plate.ndim != 3 or plate.shape[2] != 3 or min(plate.shape[:2]) < 2:
        return None
    level = smoothed_level(sorted_columns(plate) if columns is None else columns, LEVEL_PERCENTILE)
    top = float(level.max())
    if top <= 0 or float(level.min()) >= SHADOW_RATIO * top:
        return None
    gain = np.clip(top / np.maximum(level, 1.0), 1.0, MAX_GAIN)
    out = np.clip(plate.astype(np.float32) * gain[None, :, None], 0.0, 255.0)
    return out[None] if rgb.ndim == 4 else out
