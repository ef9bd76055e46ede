"""OpenCV capture: V4L2 devices (index or path), RTSP/HTTP streams and video files."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import cv2

from gateway.camera.config import PacingMode
from gateway.camera.frame import Frame, SourceEndedError, SourceError

log = logging.getLogger(__name__)
DECODE_THREADS = 1  # FFmpeg decoder threads per camera (see OpenCVSource.open)


def _is_stream(uri: str) -> bool:
    return "://" in uri


def _is_device(uri: str) -> bool:
    return uri.isdigit() or uri.startswith("/dev/video")


class OpenCVSource:
    """Frames from ``cv2.VideoCapture``.

    Files are finite: ``read()`` raises :class:`SourceEndedError` at the end (or rewinds when
    ``loop``). Their clock ``t`` is the position in the file, so results do not depend on CPU
    speed; ``pacing=REALTIME`` sleeps so frames arrive at the file's rate like a camera.
    A file's ``wall`` time is ``start_time`` plus its position when a start time is given (a
    replay made to happen at 02:00), else the time it was opened plus its position.
    Devices and streams are live: a failed read raises :class:`SourceError` so that a
    :class:`~gateway.camera.resilient.ResilientSource` reopens them.
    """

    def __init__(
        self,
        uri: str,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        pacing: PacingMode = PacingMode.REALTIME,
        loop: bool = False,
        start_time: datetime | None = None,
    ) -> None:
        self.uri = uri
        self.name = uri
        self.live = _is_stream(uri) or _is_device(uri)
        self._width, self._height, self._req_fps = width, height, fps
        self._pacing = pacing
        self._loop = loop
        # A file's frame times are its position plus this start (the clock a replay runs on);
        # live sources always use the real clock.
        self._start_wall = None if start_time is None or self.live else start_time.timestamp()
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        self._fps = 0.0
        self._t0_wall = 0.0
        self._t0_mono = 0.0
        self._loop_offset = 0.0

    @property
    def fps(self) -> float:
        """Frame rate reported by the media (0 when unknown)."""
        return self._fps

    def open(self) -> None:
        """Open the device, stream or file; raise :class:`SourceError` if it cannot be."""
        if not self.live and not Path(self.uri).is_file():
            raise SourceError(f"video file {self.uri!r} does not exist")
        target: int | str = int(self.uri) if self.uri.isdigit() else self.uri
        if _is_device(self.uri):
            cap = cv2.VideoCapture(target)
        else:
            # Files and streams decode in FFmpeg: one decoder thread per camera. FFmpeg would
            # start one per core, each with its own frame buffers, to compete with the
            # detector for the same cores; one keeps up with a camera's rate on a Pi core.
            cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS,
                                                            DECODE_THREADS])
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self.uri!r} (device missing, URL down or bad file)")
        if self.live:
            if self._width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
            if self._height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
            if self._req_fps:
                cap.set(cv2.CAP_PROP_FPS, self._req_fps)
            # Keep the driver's own queue short: we want the newest frame, not a backlog.
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not (0.0 < self._fps < 1000.0):
            self._fps = 0.0
        self._index = 0
        self._loop_offset = 0.0
        self._t0_wall = time.time() if self._start_wall is None else self._start_wall
        self._t0_mono = time.monotonic()

    def read(self) -> Frame:
        """Return the next frame (see class docstring for the end and failure cases)."""
        if self._cap is None:
            raise SourceError(f"{self.uri!r} is not open")
        ok, img = self._cap.read()
        if not ok or img is None:
            if self.live:
                raise SourceError(f"{self.uri!r} delivered no frame (device gone or stream down)")
            if self._loop and self._index > 0:
                self._loop_offset += self._media_t(self._index)
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._index = 0
                ok, img = self._cap.read()
            if not ok or img is None:
                raise SourceEndedError(f"{self.uri!r} ended after {self._index} frames")
        mono = time.monotonic()
        if self.live:
            t = mono - self._t0_mono
            wall = time.time()
        else:
            t = self._loop_offset + self._media_t(self._index)
            if self._pacing is PacingMode.REALTIME:
                delay = self._t0_mono + t - mono
                if delay > 0:
                    time.sleep(delay)
                mono = time.monotonic()
            wall = self._t0_wall + t
        frame = Frame(image=img, index=self._index, t=t, wall=wall, mono=mono, source=self.name)
        self._index += 1
        return frame

    def _media_t(self, index: int) -> float:
        # Index / fps is exact for constant-rate files; CAP_PROP_POS_MSEC is not reliable
        # across backends.
        return index / self._fps if self._fps else index / 25.0

    def close(self) -> None:
        """Release the capture; safe to call twice."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
