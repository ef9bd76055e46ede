"""On-device vision: TFLite detection, motion gating, tracking, zones and lines, per camera.

The entry point is :class:`~gateway.vision.pipeline.CameraPipeline`, configured by
:class:`~gateway.vision.config.VisionCameraConfig`, which reports
:mod:`gateway.vision.events` dataclasses through an ``on_event`` callback.
"""

from gateway.lazy import lazy_exports

# Resolved on first use (gateway/lazy.py explains why).
_EXPORTS = {
    "Anchor": "gateway.vision.config",
    "CameraPipeline": "gateway.vision.pipeline",
    "CropConfig": "gateway.vision.config",
    "CrowdCount": "gateway.vision.events",
    "DecoderKind": "gateway.vision.config",
    "Detection": "gateway.vision.detection",
    "Detector": "gateway.vision.detector",
    "DetectorConfig": "gateway.vision.config",
    "EventCallback": "gateway.vision.pipeline",
    "LineConfig": "gateway.vision.config",
    "LineCrossing": "gateway.vision.events",
    "Loitering": "gateway.vision.events",
    "ModelError": "gateway.vision.detector",
    "MotionGateConfig": "gateway.vision.config",
    "ObjectEnter": "gateway.vision.events",
    "ObjectExit": "gateway.vision.events",
    "ResizeMode": "gateway.vision.config",
    "RulesConfig": "gateway.vision.config",
    "ScheduleConfig": "gateway.vision.config",
    "TrackerConfig": "gateway.vision.config",
    "VisionCameraConfig": "gateway.vision.config",
    "VisionEvent": "gateway.vision.events",
    "ZoneConfig": "gateway.vision.config",
    "ZoneIntrusion": "gateway.vision.events",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
