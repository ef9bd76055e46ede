"""On-device vision: TFLite detection, motion gating, tracking, zones and lines, per camera.

The entry point is :class:`~gateway.vision.pipeline.CameraPipeline`, configured by
:class:`~gateway.vision.config.VisionCameraConfig`, which reports
:mod:`gateway.vision.events` dataclasses through an ``on_event`` callback.
"""

# Names resolve lazily (PEP 562) so that importing the configuration models, as the gateway's
# config loader does, does not pull in OpenCV, NumPy or a TFLite runtime.
from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
