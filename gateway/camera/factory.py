"""Build a frame source from its configuration.

Each driver is imported only when a camera uses it: the folder source pulls in Pillow (~3 MB
resident) and picamera2 is absent off a Pi, so a gateway with OpenCV cameras loads neither.
"""

from __future__ import annotations

from gateway.camera.config import CameraSourceConfig, SourceKind
from gateway.camera.frame import FrameSource


def open_source(cfg: CameraSourceConfig) -> FrameSource:
    """Return an unopened source for ``cfg`` (call ``open()`` or wrap in ResilientSource)."""
    if cfg.kind is SourceKind.OPENCV:
        from gateway.camera.opencv_source import OpenCVSource

        return OpenCVSource(
            cfg.uri, width=cfg.width, height=cfg.height, fps=cfg.fps, pacing=cfg.pacing,
            loop=cfg.loop, start_time=cfg.start_time,
        )
    if cfg.kind is SourceKind.FOLDER:
        from gateway.camera.folder_source import ImageFolderSource

        return ImageFolderSource(cfg.uri, fps=cfg.fps or 1.0, pacing=cfg.pacing, loop=cfg.loop)
    if cfg.kind is SourceKind.PICAMERA2:
        from gateway.camera.picamera_source import Picamera2Source

        return Picamera2Source(
            int(cfg.uri or 0), width=cfg.width or 1280, height=cfg.height or 720, fps=cfg.fps
        )
    raise ValueError(f"unknown source kind {cfg.kind!r}")
