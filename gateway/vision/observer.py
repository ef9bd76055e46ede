"""Hook for per-track work that rides on the detector's frames (e.g. reading plates).

The pipeline calls :meth:`TrackObserver.observe` on every frame the detector ran on, with
the live tracks (it may return early events, e.g. a plate preview), and
:meth:`TrackObserver.track_ended` once per confirmed track when it ends; whatever events that
returns are emitted right after the track's exit event.
"""

from __future__ import annotations

from typing import Protocol

from gateway.camera.frame import Frame
from gateway.vision.events import VisionEvent
from gateway.vision.tracker import Track


class TrackObserver(Protocol):
    """Extra per-track analysis; must be quick and must not raise (it runs in the camera loop)."""

    def observe(self, frame: Frame, tracks: list[Track]) -> list[VisionEvent]: ...

    def track_ended(self, frame: Frame, track: Track, direction: str | None) -> list[VisionEvent]: ...
