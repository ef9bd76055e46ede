"""A plate's corners found again from its own coloured panel.

Why: the finder's corners for two-row plates (its rare class) are often off by a tenth of the
plate's width, and now and then those of one-row plates; cut from such corners, a plate loses
a character at its edge (most often the province, on a two-row plate's small top row) and the
read is refused or wrong. On development two-row scenes the recognizer read 198 of 200 plates
warped from their true corners against 149 from the finder's (MODEL_CARD.md, "Plate panels,
session 20"). A plate is a flat panel of one background colour with a sharp edge; this finds
that panel around the finder's quadrilateral and returns its corners.

How: the neighbourhood of the quadrilateral is warped flat with a margin; the panel's colour is
the median of the quadrilateral's inner part (characters are a minority of a plate's area);
pixels near that colour (CIELAB distance) are closed over the characters, the connected region
under the centre is taken, and its convex hull is reduced to four corners. The answer is None
whenever the panel is not clearly a plate-sized, plate-shaped region of its own: it runs into
the margin (a truck body of the plate's colour), it is much smaller or larger than the
quadrilateral, or it is not a quadrilateral. A None keeps the finder's corners.
"""

from __future__ import annotations

import numpy as np

#: neighbourhood warped around the quadrilateral, as a share of its width / height on each side
MARGIN = (0.25, 0.35)
#: the flat neighbourhood's size (w, h) in which the panel is looked for
WORK_SIZE = (192, 128)
#: CIELAB distance (OpenCV's 8-bit scale) within which a pixel is of the panel's colour
COLOUR_DISTANCE = 38.0
#: the panel found may have this share of the quadrilateral's area, at least / at most
AREA_RANGE = (0.6, 1.7)
#: bridges narrower than this (work pixels) between the panel and look-alike surroundings are cut
OPEN = 5


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points (any order, 4x2) as lt, rt, rb, lb."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    s = pts.sum(axis=1)
    d = pts[:, 0] - pts[:, 1]
    return np.array([pts[np.argmin(s)], pts[np.argmax(d)], pts[np.argmax(s)], pts[np.argmin(d)]], np.float32)


def _four_corners(hull: np.ndarray) -> np.ndarray | None:
    """A convex hull reduced to four corners (None when it will not reduce to four)."""
    import cv2

    perimeter = cv2.arcLength(hull, True)
    for eps in (0.02, 0.04, 0.06, 0.08, 0.1):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2).astype(np.float32))
        if len(approx) < 4:
            break
    return None


def panel_corners(img_bgr: np.ndarray, corners: np.ndarray) -> np.ndarray | None:
    """The corners (lt, rt, rb, lb, in ``img_bgr``'s pixels) of the plate panel found around the
    quadrilateral ``corners``; None when no clear panel is there (see the module's doc)."""
    import cv2

    W, H = WORK_SIZE
    mx, my = W * MARGIN[0] / (1 + 2 * MARGIN[0]), H * MARGIN[1] / (1 + 2 * MARGIN[1])
    inner = np.array([[mx, my], [W - mx, my], [W - mx, H - my], [mx, H - my]], np.float32)
    try:
        m = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), inner)
        flat = cv2.warpPerspective(img_bgr, m, (W, H), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        inside = cv2.warpPerspective(np.full(img_bgr.shape[:2], 255, np.uint8), m, (W, H),
                                     flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    except cv2.error:
        return None  # degenerate corners
    lab = cv2.cvtColor(cv2.GaussianBlur(flat, (3, 3), 0), cv2.COLOR_BGR2LAB).astype(np.float32)
    x0, x1 = int(mx + 0.2 * (W - 2 * mx)), int(W - mx - 0.2 * (W - 2 * mx))
    y0, y1 = int(my + 0.2 * (H - 2 * my)), int(H - my - 0.2 * (H - 2 * my))
    colour = np.median(lab[y0:y1, x0:x1].reshape(-1, 3), axis=0)
    near = (np.linalg.norm(lab - colour, axis=2) < COLOUR_DISTANCE) & (inside > 0)
    mask = near.astype(np.uint8) * 255
    # close over the characters: about a character's stroke-to-stroke gap at this size
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (OPEN, OPEN)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    centre = labels[H // 2, W // 2]
    if centre == 0:
        return None
    cx, cy, cw, ch, area = stats[centre]
    if cx <= 0 or cy <= 0 or cx + cw >= W or cy + ch >= H:
        return None  # runs into the margin: not a panel of its own
    quad_area = (W - 2 * mx) * (H - 2 * my)
    if not AREA_RANGE[0] * quad_area <= area <= AREA_RANGE[1] * quad_area:
        return None
    contours, _ = cv2.findContours((labels == centre).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.vstack(contours))
    found = _four_corners(hull)
    if found is None:
        return None
    # back into the image: the inverse of the flattening. The colour stops short of the plate's
    # rim (a median 2.5 % of the width and 4 % of the height on development two-row scenes);
    # growing the corners out by that read no more plates (270 of 300 against 271), so they stay.
    back_m = cv2.getPerspectiveTransform(inner, np.asarray(corners, np.float32))
    back = cv2.perspectiveTransform(found[None], back_m)[0]
    return back.astype(np.float32)
