"""Configuration of evidence clips: per camera (``[cameras.<name>.clips]``) and the store (``[clips]``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from gateway.strict import StrictModel

#: Vision event kinds that are alarms (the ones a clip is made for by default).
ALARM_KINDS = ("zone_intrusion", "loitering", "crowd")
#: Every vision event kind a clip can be made for.
CLIP_KINDS = (*ALARM_KINDS, "line_crossing", "object_enter", "vehicle_plate")


class ClipsConfig(StrictModel):
    """One camera's ring of recent frames and the clips it cuts from it around alarms."""

    enabled: bool = Field(
        default=False, description="Keep a ring of recent frames and write a clip per alarm "
        "(costs one JPEG encode per kept frame).")
    pre_s: float = Field(default=5.0, ge=0, le=30, description="Seconds kept before the alarm.")
    post_s: float = Field(default=5.0, ge=0, le=60, description="Seconds recorded after it.")
    max_fps: float = Field(
        default=10.0, gt=0, le=30, description="Most frames per second kept (the rest skipped).")
    quality: int = Field(default=75, ge=20, le=95, description="JPEG quality in the ring.")
    max_width: int | None = Field(
        default=None, ge=64, description="Downscale frames wider than this (None: as captured).")
    on: tuple[str, ...] = Field(
        default=ALARM_KINDS, description=f"Event kinds that make a clip: any of {list(CLIP_KINDS)}.")
    max_ring_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024 * 1024,
        description="Memory cap of the ring (oldest frames go first when reached).")

    @model_validator(mode="after")
    def _known_trigger_kinds(self) -> ClipsConfig:
        unknown = sorted(set(self.on) - set(CLIP_KINDS))
        if unknown:
            raise ValueError(f"clips.on names unknown event kinds {unknown}; "
                             f"known: {list(CLIP_KINDS)}")
        return self


class ClipCodec(StrEnum):
    """How clips are encoded."""

    AUTO = "auto"  # H.264 through ffmpeg when it is installed, else MPEG-4 part 2 (mp4v)
    MP4V = "mp4v"  # OpenCV's own encoder: every pip wheel has it
    H264 = "h264"  # ffmpeg (Debian's package) with libx264; refused when ffmpeg is missing


class ClipStoreConfig(StrictModel):
    """``[clips]``: where clips are kept and how much room they may take."""

    path: Path | None = Field(
        default=None, description="Folder of the clips (None: 'clips' beside the spool file).")
    max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024 * 1024,
        description="Most bytes of clips kept; the oldest clips go first.")
    max_age_s: float = Field(
        default=7 * 86400, gt=0, description="Clips older than this are deleted.")
    reserve_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0,
        description="Free disk always left for the spool beyond its own max_bytes: a clip "
        "that would cut into it deletes older clips or is not written.")
    codec: ClipCodec = Field(default=ClipCodec.AUTO, description="auto, mp4v or h264.")
    list_max: int = Field(default=50, ge=1, le=1000, description="Clips listed by cmd/clips.")
