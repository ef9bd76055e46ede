"""Small plane-geometry helpers in normalized coordinates."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.vision.config import Anchor

Box = tuple[float, float, float, float]
Pt = tuple[float, float]


def anchor_point(box: Box, anchor: Anchor) -> Pt:
    """The point of ``box`` that stands for the object (centre or bottom-centre)."""
    x1, y1, x2, y2 = box
    if anchor is Anchor.BOTTOM:
        return ((x1 + x2) / 2, y2)
    return ((x1 + x2) / 2, (y1 + y2) / 2)


def point_in_polygon(p: Pt, polygon: Sequence[Pt]) -> bool:
    """Even-odd rule; points on the boundary may fall either way."""
    x, y = p
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
    return inside


def signed_distance(p: Pt, a: Pt, b: Pt) -> float:
    """Distance of ``p`` from the infinite line a-b; the sign tells the side."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length = (dx * dx + dy * dy) ** 0.5
    return (dx * (p[1] - ay) - dy * (p[0] - ax)) / length


def segments_intersect(p1: Pt, p2: Pt, a: Pt, b: Pt) -> bool:
    """True when segment p1-p2 meets segment a-b (touching counts)."""

    def orient(o: Pt, q: Pt, r: Pt) -> float:
        return (q[0] - o[0]) * (r[1] - o[1]) - (q[1] - o[1]) * (r[0] - o[0])

    d1, d2 = orient(a, b, p1), orient(a, b, p2)
    d3, d4 = orient(p1, p2, a), orient(p1, p2, b)
    return (d1 * d2 <= 0) and (d3 * d4 <= 0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
