"""Raspberry Pi camera through picamera2/libcamera.

picamera2 exists only on a Pi (Raspberry Pi OS ships it as ``python3-picamera2``; a venv needs
``--system-site-packages``). It is imported when the source opens, never at module import, so
the rest of the gateway runs anywhere.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

import cv2

from gateway.camera.frame import Frame, SourceError

INSTALL_HINT = (
    "picamera2 is not importable: on Raspberry Pi OS run `sudo apt install python3-picamera2` "
    "and create the venv with --system-site-packages; off a Pi use an opencv source instead"
)


def load_picamera2() -> Any:
    """Return the ``Picamera2`` class or raise :class:`SourceError` with what to do."""
    try:
        module = importlib.import_module("picamera2")
    except ImportError as exc:  # off a Pi: "No module named 'libcamera'" or 'picamera2'
        raise SourceError(f"{INSTALL_HINT} ({exc})") from exc
    return module.Picamera2


class Picamera2Source:
    """Live frames from a Pi camera module, converted to BGR."""

    live = True

    def __init__(
        self, camera_num: int = 0, *, width: int = 1280, height: int = 720, fps: float | None = None
    ) -> None:
        self.camera_num = camera_num
        self.name = f"picamera2:{camera_num}"
        self._size = (width, height)
        self._fps = fps
        self._cam: Any = None
        self._index = 0
        self._t0 = 0.0

    def open(self) -> None:
        """Start the camera; raise :class:`SourceError` when picamera2 or the camera is missing."""
        cls = load_picamera2()
        try:
            cam = cls(self.camera_num)
            controls = {"FrameRate": self._fps} if self._fps else {}
            cfg = cam.create_video_configuration(
                main={"size": self._size, "format": "RGB888"}, controls=controls
            )
            cam.configure(cfg)
            cam.start()
        except Exception as exc:  # libcamera raises undocumented types (RuntimeError, IndexError, ...)
            raise SourceError(f"{self.name}: cannot start camera ({exc})") from exc
        self._cam = cam
        self._index = 0
        self._t0 = time.monotonic()

    def read(self) -> Frame:
        """Capture one frame (picamera2 always hands over its newest buffer)."""
        if self._cam is None:
            raise SourceError(f"{self.name} is not open")
        try:
            arr = self._cam.capture_array("main")
        except Exception as exc:  # as in open(): libcamera's error types are undocumented
            raise SourceError(f"{self.name}: capture failed ({exc})") from exc
        mono = time.monotonic()
        # picamera2's "RGB888" is BGR byte order in memory already (libcamera naming); only
        # 4-channel XBGR needs dropping the padding channel.
        img = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR) if arr.ndim == 3 and arr.shape[2] == 4 else arr
        frame = Frame(
            image=img, index=self._index, t=mono - self._t0, wall=time.time(), mono=mono,
            source=self.name,
        )
        self._index += 1
        return frame

    def close(self) -> None:
        """Stop and release the camera."""
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None
