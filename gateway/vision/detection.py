"""The detection record shared by detector, tracker and rules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Detection:
    """One detected object. ``box`` is (x1, y1, x2, y2) normalized to the frame."""

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    label: str

    @property
    def area(self) -> float:
        """Box area as a fraction of the frame."""
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)
