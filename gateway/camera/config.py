"""Configuration of one camera's frame source (mounted by the root config under ``[cameras]``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from gateway.strict import StrictModel


class SourceKind(StrEnum):
    """Which driver reads the camera."""

    OPENCV = "opencv"  # V4L2 device index/path, RTSP/HTTP URL or video file
    PICAMERA2 = "picamera2"  # Raspberry Pi camera via libcamera
    FOLDER = "folder"  # a folder of still images, read in name order


class PacingMode(StrEnum):
    """How recorded media (files, folders) are paced. Live sources ignore this."""

    REALTIME = "realtime"  # frames are delivered at the media's own rate, like a camera
    FAST = "fast"  # every frame as fast as the consumer takes it (deterministic tests, batch)


class CameraSourceConfig(StrictModel):
    """Where a camera's frames come from and how a dead source is reopened."""

    kind: SourceKind = Field(
        default=SourceKind.OPENCV, description="Driver: opencv, picamera2 or folder."
    )
    uri: str = Field(
        default="0",
        description=(
            "opencv: device index ('0'), device path ('/dev/video0'), RTSP/HTTP URL or video "
            "file path; folder: directory of images; picamera2: camera number ('0')."
        ),
    )
    width: int | None = Field(
        default=None, ge=16, description="Requested capture width in pixels (live devices)."
    )
    height: int | None = Field(
        default=None, ge=16, description="Requested capture height in pixels (live devices)."
    )
    fps: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Requested capture rate for live devices; for image folders the rate the images "
            "are assumed to have been taken at (default 1 fps)."
        ),
    )
    pacing: PacingMode = Field(
        default=PacingMode.REALTIME,
        description="Recorded media only: 'realtime' (paced like a camera) or 'fast'.",
    )
    loop: bool = Field(
        default=False, description="Recorded media only: start again at the end instead of ending."
    )
    start_time: datetime | None = Field(
        default=None,
        description=(
            "Recorded media only: the wall-clock time of the first frame, with its offset "
            "(e.g. 2026-12-01T02:00:00+08:00), so a replay is judged as if it were filmed then "
            "(active hours, level schedule, event times). None: the time the file is opened."
        ),
    )
    reopen_initial_s: float = Field(
        default=0.5, gt=0, description="First wait before reopening a failed source, seconds."
    )
    reopen_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between reopen attempts (backoff cap)."
    )
    max_reopens: int | None = Field(
        default=None,
        ge=0,
        description="Give up after this many consecutive failed reopens (None: never give up).",
    )
    read_timeout_s: float = Field(
        default=5.0, gt=0, description="A live source with no frame for this long counts as dead."
    )

    @field_validator("start_time")
    @classmethod
    def _start_time_has_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("start_time needs a UTC offset, e.g. 2026-12-01T02:00:00+08:00 "
                             "(a time without one could be any time zone)")
        return value
