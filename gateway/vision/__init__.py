"""On-device vision: TFLite detection, motion gating, tracking, zones and lines, per camera.

The entry point is :class:`~gateway.vision.pipeline.CameraPipeline`, configured by
:class:`~gateway.vision.config.VisionCameraConfig`, which reports
:mod:`gateway.vision.events` dataclasses through an ``on_event`` callback.
"""

from gateway.vision.config import (
    Anchor,
    CropConfig,
    DecoderKind,
    DetectorConfig,
    LineConfig,
    MotionGateConfig,
    ResizeMode,
    RulesConfig,
    ScheduleConfig,
    TrackerConfig,
    VisionCameraConfig,
    ZoneConfig,
)
from gateway.vision.detection import Detection
from gateway.vision.detector import Detector, ModelError
from gateway.vision.events import (
    CrowdCount,
    LineCrossing,
    Loitering,
    ObjectEnter,
    ObjectExit,
    VisionEvent,
    ZoneIntrusion,
)
from gateway.vision.pipeline import CameraPipeline, EventCallback

__all__ = [
    "Anchor",
    "CameraPipeline",
    "CropConfig",
    "CrowdCount",
    "DecoderKind",
    "Detection",
    "Detector",
    "DetectorConfig",
    "EventCallback",
    "LineConfig",
    "LineCrossing",
    "Loitering",
    "ModelError",
    "MotionGateConfig",
    "ObjectEnter",
    "ObjectExit",
    "ResizeMode",
    "RulesConfig",
    "ScheduleConfig",
    "TrackerConfig",
    "VisionCameraConfig",
    "VisionEvent",
    "ZoneConfig",
    "ZoneIntrusion",
]
