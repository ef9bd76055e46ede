"""Occlusion augmentation for the recognizer's training batches: hard shadows, bars, glare.

Why: the chain probe (:mod:`models.plates.conditions`) found that the recognizer reads a plate
crossed by a hard-edged shadow, a dark bar across its lower characters (a tow bar, a bike rack)
or a headlight's glare spot as confidently as a whole plate, and often wrong: it never saw
such plates in training. These draw the three on recognizer-sized crops, each with its own
random geometry and strength (wider ranges than the probe's fixed cases, so that the probe
stays a test of generalisation rather than of the recipe). The text target is unchanged.

Limit, learnt in session 17 (model card, "Occlusion fine-tune"): a bright glare spot centred on
the plate or a dark bar over most of the characters' height can erase characters, and a target
that still names them teaches the recognizer to guess. A next recipe should cap the glare and
the bar, or train such samples towards no read.
"""

from __future__ import annotations

import numpy as np

#: the kinds drawn, in the order :func:`occluded` picks them
KINDS = ("shadow", "bar", "glare")


def hard_shadow(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One side of a slanted, hard (0-2 px) edge darkened to 25-60 % brightness."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x0 = rng.uniform(0.12, 0.88) * w
    slant = rng.uniform(-0.35, 0.35) * w / max(h, 1)
    soft = rng.uniform(0.0, 2.0)
    d = xx - (x0 + slant * (yy - h / 2))
    if rng.random() < 0.5:
        d = -d
    inside = np.clip(0.5 - d / (2 * soft), 0.0, 1.0) if soft > 0.1 else (d < 0).astype(np.float32)
    factor = 1.0 - (1.0 - rng.uniform(0.25, 0.6)) * inside
    return np.clip(img.astype(np.float32) * factor[..., None], 0, 255).astype(np.uint8)


def bar(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dark horizontal band, 8-22 % of the height, across the lower half of the characters,
    over 40-100 % of the width."""
    h, w = img.shape[:2]
    bh = max(1, round(rng.uniform(0.08, 0.22) * h))
    cy = rng.uniform(0.45, 0.8) * h
    y0 = int(np.clip(cy - bh / 2, 0, h - 1))
    bw = round(rng.uniform(0.4, 1.0) * w)
    x0 = int(rng.integers(0, w - bw + 1))
    out = img.copy()
    region = out[y0 : y0 + bh, x0 : x0 + bw].astype(np.float32)
    out[y0 : y0 + bh, x0 : x0 + bw] = np.clip(region * rng.uniform(0.05, 0.4), 0, 255).astype(np.uint8)
    return out


def glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bright Gaussian spot near or over one end of the plate."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = rng.choice([rng.uniform(-0.25, 0.25), rng.uniform(0.75, 1.25)]) * w
    cy = rng.uniform(0.2, 0.8) * h
    sigma = rng.uniform(0.4, 1.2) * h
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    amp = rng.uniform(120, 255)
    return np.clip(img.astype(np.float32) + amp * spot[..., None], 0, 255).astype(np.uint8)


#: how often each kind is drawn when all three are asked for (shadow 45 %, bar 35 %, glare 20 %)
WEIGHTS = {"shadow": 0.45, "bar": 0.35, "glare": 0.2}


def occluded(
    x: np.ndarray, which: np.ndarray, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS
) -> np.ndarray:
    """``x`` (N,H,W,3 uint8) with one occlusion, of a kind drawn per image from ``kinds`` (in the
    proportions of :data:`WEIGHTS`), on the images where ``which`` is set; the others unchanged."""
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        got = ", ".join(kinds) or "none"
        raise ValueError(f"occlusion kinds must be among {', '.join(KINDS)}; got {got}")
    draw = {"shadow": hard_shadow, "bar": bar, "glare": glare}
    p = np.array([WEIGHTS[k] for k in kinds])
    p = p / p.sum()
    out = x.copy()
    for i in np.flatnonzero(which):
        kind = kinds[rng.choice(len(kinds), p=p)]
        out[i] = draw[kind](out[i], rng)
    return out
