"""Reading a frame turned by a few degrees: plates tilted beyond what the finder finds level.

Why: the finder (HyperLPR3's y5fu, trained on road scenes where plates are mostly level) misses
more and more plates as they tilt past ~20°: on the development province scenes 94 % were read
at 0-10°, 82 % at 20-30° and 54 % at 30-40°. Turned back by about their tilt, they are level
again. A frame is turned about its centre onto a canvas large enough to keep all of it, read as
it is, and each read's box is mapped back into the frame.

It costs a whole frame search per angle, so only stills try angles (``edgepost plates read``, when
nothing else read); a gateway's frames, most of which hold no plate, never do. A camera whose
plates all lean about the same way (mounted rolled, or looking across the lanes) is different:
``plates.plate_tilt`` turns each of its looks back by that one angle first
(``PlateReader._inspect_turned``).

A still larger than :data:`SEARCH_LONG_SIDE` is turned as a copy of that size (:func:`fitted`).
The turned canvas is searched at the reader's frame size (320 px), where a plate it can find
spans about a twelfth of the canvas or more, some 100 px or more in the copy; the full-size photo
only cost time and memory (a 12 MP photo: about 70 MB a canvas and 0.25 s a turn).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gateway.plates.reader import PlateReader
    from gateway.plates.voting import PlateObservation


#: the longest side of the copy of a still that the turned and the grey-framed searches look at
#: (the finest whole-frame search of ``edgepost plates read``, ``FINER_FRAME_SIZES``, is no finer)
SEARCH_LONG_SIDE = 1280


def fitted(frame_bgr: np.ndarray, long_side: int | None = None) -> tuple[np.ndarray, float]:
    """``frame_bgr`` shrunk (area average) so that its longest side is at most ``long_side``
    (default :data:`SEARCH_LONG_SIDE`), and the scale (copy px per frame px); the frame itself,
    at scale 1, when it is no larger."""
    import cv2

    long_side = SEARCH_LONG_SIDE if long_side is None else long_side
    h, w = frame_bgr.shape[:2]
    if max(h, w) <= long_side:
        return frame_bgr, 1.0
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA), scale


def turn(frame_bgr: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """``frame_bgr`` turned by ``degrees`` (counter-clockwise, OpenCV's sense) on a canvas that
    holds all of it (black outside), and the 2x3 affine map from frame to canvas pixels."""
    import cv2

    h, w = frame_bgr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    cw, ch = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += cw / 2 - w / 2
    m[1, 2] += ch / 2 - h / 2
    return cv2.warpAffine(frame_bgr, m, (cw, ch), flags=cv2.INTER_LINEAR), m


def lean(corners: np.ndarray) -> float:
    """How far a plate with ``corners`` (lt rt rb lb, image pixels) leans: the angle of its top
    and bottom edges, degrees counter-clockwise as the image shows it (right end higher is
    positive), as ``plates.plate_tilt`` takes it."""
    c = np.asarray(corners, np.float64)
    dx, dy = (c[1] - c[0]) + (c[2] - c[3])
    return float(np.degrees(np.arctan2(-dy, dx)))


def box_back(box: tuple[int, int, int, int], m: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """The frame box (clipped to ``w`` x ``h``) around canvas box ``box`` under the inverse of ``m``."""
    import cv2

    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    back = cv2.transform(corners[None], cv2.invertAffineTransform(m))[0]
    bx0, by0 = np.floor(back.min(axis=0)).astype(int)
    bx1, by1 = np.ceil(back.max(axis=0)).astype(int)
    return max(0, int(bx0)), max(0, int(by0)), min(w, int(bx1)), min(h, int(by1))


def read_back(o: PlateObservation, m: np.ndarray, w: int, h: int, degrees: float) -> PlateObservation:
    """Read ``o`` of a canvas turned by ``degrees`` (map ``m`` from a ``w`` x ``h`` frame) as the
    frame has it: its box mapped back (:func:`box_back`), its lean less the turn."""
    return replace(o, box=None if o.box is None else box_back(o.box, m, w, h),
                   tilt=None if o.tilt is None else round(o.tilt - degrees, 1))


def read_turned(reader: PlateReader, frame_bgr: np.ndarray, degrees: float,
                t: float = 0.0) -> list[PlateObservation]:
    """``reader.read_frame`` on ``frame_bgr`` (a copy no longer than :data:`SEARCH_LONG_SIDE`)
    turned by ``degrees``, boxes in frame pixels."""
    small, scale = fitted(frame_bgr)
    canvas, m = turn(small, degrees)
    h, w = frame_bgr.shape[:2]
    m[:, :2] *= scale  # frame -> copy -> canvas
    return [read_back(o, m, w, h, degrees) for o in reader.read_frame(canvas, t)]
