"""Test-time voting over slightly different warps of one finder candidate.

Why: the recognizer reads a plate warped flat from the finder's four corners. A corner a
pixel or two off shifts or crops the characters, and at free (letter-or-digit) positions that
is enough to turn Q into 0 or B into E. Reading the same candidate from a few warps that differ
by a small margin or shift, and combining the reads, averages such accidents out. It costs one
recognizer call (~0.26 ms) and one warp per extra warp, so the reader only does it when the
first read is not already sure (``plates.finder.vote_warps`` / ``vote_below``).

The rule (:func:`vote`) is a **soft vote that never inflates confidence**:

* the reads of the most common length form the group (ties: the larger summed confidence of
  the reads, each read's confidence being its weakest character's); empty reads and reads of
  another length are left out (a warp that cut a character off or took in the plate's edge
  says nothing about the others' positions);
* per position, each read of the group contributes its top alternatives' probabilities; they
  are summed and divided by the size of the group. So a character's voted confidence is the
  mean of its probability over those warps: five warps that all read a character at 0.8 give
  0.8, not more, and a warp that reads another character there lowers it. The mean of
  calibrated probabilities stays a probability (the model card's calibration keeps its meaning:
  ``recognizer.min_char_confidence`` then applies to the voted read).

:func:`perturb` moves the four corners of a candidate (scaled about the plate's centre along its
own axes, and shifted by a share of its width and height); :data:`WARPS` lists the warps tried,
in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.plates.recognizer import PlateRead


@dataclass(frozen=True)
class Warp:
    """A change of a candidate's corners, in shares of the plate's own width and height."""

    #: scale of the width / height about the plate centre (1.06 = 3 % more on each side)
    scale_x: float = 1.0
    scale_y: float = 1.0
    #: shift along the plate's width / height axis
    shift_x: float = 0.0
    shift_y: float = 0.0


#: The extra warps, in the order they are tried: a looser and a tighter frame, then shifts of
#: 1.5 % of the width and 4 % of the height (the finder's corners are off by about that on
#: real scenes: a pixel or two on a 100 px plate).
WARPS: tuple[Warp, ...] = (
    Warp(scale_x=1.06, scale_y=1.12),
    Warp(scale_x=0.97, scale_y=0.94),
    Warp(shift_x=-0.015),
    Warp(shift_x=0.015),
    Warp(shift_y=-0.04),
    Warp(shift_y=0.04),
    Warp(scale_x=1.03, scale_y=1.2),
    Warp(scale_x=1.1, scale_y=1.06),
)


def perturb(corners: np.ndarray, warp: Warp) -> np.ndarray:
    """``corners`` (4x2, lt rt rb lb) moved by ``warp`` along the plate's own axes."""
    c = np.asarray(corners, np.float64)
    u = ((c[1] - c[0]) + (c[2] - c[3])) / 2  # left -> right, one plate width
    v = ((c[3] - c[0]) + (c[2] - c[1])) / 2  # top -> bottom, one plate height
    centre = c.mean(axis=0)
    out = centre + (c - centre) @ _scale_matrix(u, v, warp.scale_x, warp.scale_y)
    return (out + warp.shift_x * u + warp.shift_y * v).astype(np.float32)


def _scale_matrix(u: np.ndarray, v: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Row-vector matrix scaling by ``sx`` along ``u`` and ``sy`` along ``v``."""
    import cv2

    basis = np.stack([u, v]).astype(np.float64)  # rows: the plate's axes in image coordinates
    # OpenCV's, not numpy.linalg: numpy hands even a 2x2 to a threaded OpenBLAS, whose worker
    # thread must be woken for it; with the other cores busy (a gateway's camera and uplink, or
    # another process) that took about 1.5 ms a call, against microseconds here (session 35)
    if abs(cv2.determinant(basis)) < 1e-9:
        return np.eye(2)
    inv = cv2.invert(basis, flags=cv2.DECOMP_LU)[1]
    return inv @ np.diag([sx, sy]) @ basis


def distribution(read: PlateRead, i: int) -> dict[str, float]:
    """Character ``i`` of ``read`` as ``{char: probability}``: its top alternatives (the
    character alone when the read carries none)."""
    if i < len(read.alternatives) and read.alternatives[i]:
        return dict(read.alternatives[i])
    return {read.text[i]: read.char_conf[i]}


def vote(reads: Sequence[PlateRead], top_k: int = 3) -> PlateRead:
    """Combine the reads of one candidate's warps into one read (see the module doc).

    Returns an empty read when no warp read anything. The alternatives of the result are the
    top ``top_k`` of the averaged distribution (the format rules use them)."""
    if not reads:
        return PlateRead("", ())
    by_len: dict[int, list[PlateRead]] = defaultdict(list)
    for r in reads:
        if r.text and len(r.char_conf) == len(r.text):
            by_len[len(r.text)].append(r)
    if not by_len:
        return PlateRead("", ())
    n = max(by_len, key=lambda k: (len(by_len[k]), sum(r.confidence for r in by_len[k])))
    group = by_len[n]
    tried = len(group)
    chars: list[str] = []
    confs: list[float] = []
    alts: list[tuple[tuple[str, float], ...]] = []
    for i in range(n):
        mass: dict[str, float] = defaultdict(float)
        for r in group:
            for ch, p in distribution(r, i).items():
                mass[ch] += p
        ranked = sorted(mass.items(), key=lambda kv: (-kv[1], kv[0]))
        chars.append(ranked[0][0])
        confs.append(ranked[0][1] / tried)
        alts.append(tuple((ch, p / tried) for ch, p in ranked[:top_k]))
    return PlateRead("".join(chars), tuple(confs), tuple(alts))
