"""A bounded ring of one camera's recent frames, kept as JPEG so seconds of video fit in memory.

Why JPEG: raw frames at 768x432 and 10 fps are ~100 MB per 10 s; at quality 75 the same
seconds take a few MB (bench/bench_clips.py measures it), and a clip writer can hand the JPEGs
to ffmpeg as they are.

Contract: the ring holds at most ``keep_s`` seconds of frame time and at most ``max_bytes``;
the oldest frames go first. Frames come at most ``max_fps`` per second of frame time (the
rest are not encoded at all, so a 30 fps camera costs no more than a 10 fps one). Only the
camera thread pushes; readers get copies of the list (the frames themselves are immutable).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

FPS_SLACK = 0.9  # accept a frame a little early so a 10 fps source is not thinned to 5 fps


@dataclass(frozen=True, slots=True)
class RingFrame:
    """One kept frame: frame clock ``t``, UTC ``wall``, source index and the JPEG bytes."""

    t: float
    wall: float
    index: int
    jpeg: bytes


class FrameRing:
    """Recent frames of one camera as JPEG, bounded by seconds and by bytes."""

    def __init__(self, keep_s: float, max_fps: float, quality: int = 75,
                 max_width: int | None = None, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.keep_s = keep_s
        self.min_gap = FPS_SLACK / max_fps
        self.quality = quality
        self.max_width = max_width
        self.max_bytes = max_bytes
        self._frames: deque[RingFrame] = deque()
        self.bytes = 0
        self.encoded = 0
        self.dropped_for_bytes = 0
        self._last_t: float | None = None

    def __len__(self) -> int:
        return len(self._frames)

    def due(self, t: float) -> bool:
        """Whether a frame at time ``t`` would be kept (the max_fps budget)."""
        return self._last_t is None or t - self._last_t >= self.min_gap or t < self._last_t

    def push(self, image: np.ndarray, t: float, wall: float, index: int) -> RingFrame | None:
        """Encode and keep ``image`` if due; return the kept frame (None: skipped or failed)."""
        if not self.due(t):
            return None
        if self.max_width is not None and image.shape[1] > self.max_width:
            h = round(image.shape[0] * self.max_width / image.shape[1])
            image = cv2.resize(image, (self.max_width, h), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return None
        self._last_t = t
        frame = RingFrame(t, wall, index, buf.tobytes())
        self.encoded += 1
        self._frames.append(frame)
        self.bytes += len(frame.jpeg)
        while self._frames and (self._frames[0].t < t - self.keep_s or self.bytes > self.max_bytes):
            old = self._frames.popleft()
            self.bytes -= len(old.jpeg)
            if old.t >= t - self.keep_s:
                self.dropped_for_bytes += 1
        return frame

    def since(self, t0: float) -> list[RingFrame]:
        """The kept frames with ``t >= t0``, oldest first."""
        return [f for f in self._frames if f.t >= t0]

    def clear(self) -> None:
        """Forget every frame (the source restarted: times start again)."""
        self._frames.clear()
        self.bytes = 0
        self._last_t = None
