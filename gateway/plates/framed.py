"""Reading a still whose plate fills it: the picture framed in grey.

Why: the finder (HyperLPR3's y5fu, trained on road scenes) finds a plate by what lies around it as
well as by its characters. A picture cut at the plate's edges (a plate crop, a close-up filling
the photo) has nothing around it: of 300 training-side plate crops read as whole frames, 98 gave
no read, where the same crops in the middle of a grey canvas twice as wide and three times as
tall gave 1 (models/plates/MODEL_CARD.md, "Plates that fill the picture"). On the canvas the
plate spans half the width, where the finder is sure of it (real toll-lane photos cut so that
their plate spans up to 55 % of the width read as well as whole).

It costs one more whole frame search, so only stills take it (``edgepost plates read``, when
nothing else read); a gateway's frames never hold a plate from edge to edge.

The canvas is six times the picture, so a large photo is framed as a copy no longer than
:data:`gateway.plates.rotated.SEARCH_LONG_SIDE` (``rotated.fitted``): a 38 MP photo framed as it
was took a 690 MB canvas (1.3 GB peak for ``edgepost plates read``, more than a 1 GB Pi has). A
plate this search can find spans about half the picture or more, which in that copy is still
several times the recognizer's 96 px input.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gateway.plates.reader import PlateReader
    from gateway.plates.voting import PlateObservation

#: the canvas: a neutral mid grey (an edge-replicated border read worse: 292 of 300 against 299)
FRAME_GREY = 110


def frame_in_grey(frame_bgr: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """``frame_bgr`` in the middle of a grey canvas twice its width and three times its height,
    and where its top left corner lies on the canvas (x, y)."""
    import cv2

    h, w = frame_bgr.shape[:2]
    dx, dy = w // 2, h
    canvas = cv2.copyMakeBorder(frame_bgr, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(FRAME_GREY,) * 3)
    return canvas, (dx, dy)


def read_framed(reader: PlateReader, frame_bgr: np.ndarray, t: float = 0.0) -> list[PlateObservation]:
    """``reader.read_frame`` on ``frame_bgr`` (a copy no longer than ``rotated.SEARCH_LONG_SIDE``)
    framed in grey (:func:`frame_in_grey`), boxes in frame pixels (clipped to the frame)."""
    from gateway.plates.rotated import box_back, fitted

    small, scale = fitted(frame_bgr)
    canvas, (dx, dy) = frame_in_grey(small)
    h, w = frame_bgr.shape[:2]
    to_canvas = np.array([[scale, 0.0, dx], [0.0, scale, dy]])  # frame -> canvas, as rotated.turn's map
    return [replace(o, box=box_back(o.box, to_canvas, w, h)) if o.box is not None else o
            for o in reader.read_frame(canvas, t)]
