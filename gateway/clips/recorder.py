"""One camera's clip recorder: feeds the ring, and cuts a clip from ``pre_s`` before an alarm
to ``post_s`` after it.

Why in the camera loop: the frames are there already; the recorder only encodes a JPEG per kept
frame (``max_fps``) and hands finished frame lists to the store's writer thread.

Contract: :meth:`trigger` returns the clip id at once (it goes into the alarm event) and
never blocks; an alarm that falls inside a clip still being recorded gets that clip's id (one
incident, one clip). Frame times in a clip are the frames' own times, so a clip's first and
last frames lie ``pre_s`` before and ``post_s`` after the alarm frame, to within one frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from gateway.clips.config import ClipsConfig
from gateway.clips.ring import FrameRing, RingFrame
from gateway.clips.store import ClipInfo, ClipStore

log = logging.getLogger(__name__)

RING_MARGIN_S = 0.5  # keep a little more than pre_s so the first frame is never just missed


@dataclass
class _Recording:
    info: ClipInfo
    end_t: float
    frames: list[RingFrame] = field(default_factory=list)


class ClipRecorder:
    """Ring of recent frames plus the clips being recorded for one camera."""

    def __init__(self, camera: str, cfg: ClipsConfig, store: ClipStore) -> None:
        self.camera = camera
        self.cfg = cfg
        self.store = store
        self.ring = FrameRing(cfg.pre_s + RING_MARGIN_S, cfg.max_fps, cfg.quality,
                              cfg.max_width, cfg.max_ring_bytes)
        self._recording: list[_Recording] = []
        self._last_t: float | None = None
        self.triggered = 0

    def push(self, image: np.ndarray, t: float, wall: float, index: int) -> None:
        """Offer a frame (every frame of the camera); finishes clips whose time is up."""
        if self._last_t is not None and t < self._last_t:
            self.ring.clear()  # the source restarted (a looping file): times start again
            self.flush()
        self._last_t = t
        kept = self.ring.push(image, t, wall, index)
        if not self._recording:
            return
        still: list[_Recording] = []
        for rec in self._recording:
            if kept is not None and kept.t <= rec.end_t + 1e-6:
                rec.frames.append(kept)
            if t >= rec.end_t - 1e-6:
                self.store.submit(rec.info, rec.frames)
            else:
                still.append(rec)
        self._recording = still

    def trigger(self, kind: str, t: float, wall: float) -> str | None:
        """An event of ``kind`` at frame time ``t``: the id of the clip that covers it (a new
        one, or the one being recorded), or None when this kind makes no clip."""
        if kind not in self.cfg.on:
            return None
        for rec in self._recording:
            if t <= rec.end_t:
                return rec.info.id
        self.triggered += 1
        info = self.store.open_clip(self.camera, kind, wall, self.cfg.pre_s, self.cfg.post_s,
                                    ready_in_s=self.cfg.post_s)
        info.alarm_t = t
        frames = self.ring.since(t - self.cfg.pre_s - 1e-6)
        rec = _Recording(info, t + self.cfg.post_s, frames)
        if self.cfg.post_s <= 0:
            self.store.submit(info, frames)
        else:
            self._recording.append(rec)
        return info.id

    def flush(self) -> None:
        """Finish every clip being recorded with the frames it has (the source ended)."""
        for rec in self._recording:
            self.store.submit(rec.info, rec.frames)
        self._recording = []

    def health(self) -> dict[str, object]:
        """Ring size and clips triggered."""
        return {"ring_frames": len(self.ring), "ring_bytes": self.ring.bytes,
                "recording": len(self._recording), "triggered": self.triggered,
                "ring_dropped_for_bytes": self.ring.dropped_for_bytes}
