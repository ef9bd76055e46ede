"""The frame record and the minimal interface every frame source implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class SourceError(RuntimeError):
    """A source failed in a way that reopening might cure (device gone, stream broken)."""


class SourceEndedError(Exception):
    """A finite source (video file, image folder) has no more frames.

    The normal end of a file rather than a fault, so it is not a :class:`SourceError`:
    reopening cannot cure it and ``except SourceError`` must not swallow it.
    """


@dataclass(slots=True)
class Frame:
    """One captured image.

    ``image`` is BGR uint8 (OpenCV order). ``t`` is the media clock in seconds used for
    tracking, dwell and rate limits: the position in the file for recorded media (so tests are
    deterministic whatever the CPU speed) and a monotonic clock for live sources. ``wall`` is
    the UTC epoch time of capture; ``mono`` the ``time.monotonic()`` value when the frame was
    received, used to measure capture-to-event latency.
    """

    image: np.ndarray
    index: int
    t: float
    wall: float
    mono: float
    source: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        h, w = self.image.shape[:2]
        return w, h


class FrameSource(Protocol):
    """What the pipeline needs from a camera: open, read frames, close.

    ``read()`` returns the next frame, raises :class:`SourceEndedError` at the end of finite media,
    :class:`SourceError` when the device or stream failed, or
    :class:`~gateway.camera.imageio.ImageDecodeError` for a single corrupt frame (the source
    stays usable).
    """

    name: str
    live: bool

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...
