"""A glare across part of a plate, lifted off before the plate is read.

Why: a headlight or the sun's reflection next to a plate adds light over part of it (the `glare`
condition of ``models/plates/conditions.py``). The characters there keep some of their contrast,
but on a raised floor, and the recognizer reads the washed-out part as other characters, often
confidently. A plate's dark level (a blue plate's ground, a yellow plate's characters) should be
about the same in every column; where it rises by a large step, each column's range from its dark
to its bright level is stretched back onto the plate's typical range.

This is the additive sibling of :mod:`gateway.plates.shadow` (a shadow scales a column's levels
down; glare lifts its floor). It runs only when that module found no shadow, and only on plates
whose dark level rises by :data:`GLARE_RISE` grey levels or more across the width.

Off by default (``recognizer.lift_glare``): it read 22 more of 100 held-out real photos under a
simulated glare, but cost clean synthetic plates reads, one of them read as 皖 again
(models/plates/MODEL_CARD.md, "Session 36").
"""

from __future__ import annotations

import numpy as np

from gateway.plates.shadow import LEVEL_PERCENTILE, smoothed_level, sorted_columns

#: a plate whose smoothed dark level rises by this many grey levels from its darkest column to its
#: lightest is under glare (session 36: 110 of 111 training-side toll-lane plates under the probe's
#: glare, 3 of the 111 as photographed, 115 of 600 synthetic crops)
GLARE_RISE = 80.0
#: the column's dark level: this percentile of its grey values
DARK_PERCENTILE = 5.0
#: a column's range is never taken as narrower than this (a column washed out to one grey level
#: is stretched at most this much)
MIN_RANGE = 8.0


def lift_glare(rgb: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray | None:
    """``rgb`` (``(H, W, 3)``, or with a batch axis of 1) with a glare lifted off, as float32 in the
    same layout; None when its dark level does not rise by :data:`GLARE_RISE`. ``columns``:
    :func:`~gateway.plates.shadow.sorted_columns` of the plate, when the caller has it already."""
    plate = rgb[0] if rgb.ndim == 4 else rgb
    if plate.ndim != 3 or plate.shape[2] != 3 or min(plate.shape[:2]) < 2:
        return None
    columns = sorted_columns(plate) if columns is None else columns
    dark = smoothed_level(columns, DARK_PERCENTILE)
    if float(dark.max() - dark.min()) < GLARE_RISE:
        return None
    bright = smoothed_level(columns, LEVEL_PERCENTILE)
    to_dark, to_bright = float(np.median(dark)), float(np.median(bright))
    scale = (to_bright - to_dark) / np.maximum(bright - dark, MIN_RANGE)
    out = (plate.astype(np.float32) - dark[None, :, None]) * scale[None, :, None] + to_dark
    out = np.clip(out, 0.0, 255.0)
    return out[None] if rgb.ndim == 4 else out
