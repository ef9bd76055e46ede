"""Frame sources for the gateway's cameras.

Every source yields :class:`~gateway.camera.frame.Frame` objects carrying the image and its
capture timestamps. :func:`open_source` builds the right source from a
:class:`~gateway.camera.config.CameraSourceConfig`; :class:`ResilientSource` reopens a dead
source with backoff; :class:`LatestFrameGrabber` keeps only the newest frame of a live source.
"""

# Names resolve lazily (PEP 562) so that importing the configuration models, as the gateway's
# config loader does, does not pull in OpenCV, NumPy or a TFLite runtime.
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CameraSourceConfig": "gateway.camera.config",
    "Frame": "gateway.camera.frame",
    "FrameSource": "gateway.camera.frame",
    "ImageDecodeError": "gateway.camera.imageio",
    "LatestFrameGrabber": "gateway.camera.latest",
    "PacingMode": "gateway.camera.config",
    "ResilientSource": "gateway.camera.resilient",
    "SourceEnded": "gateway.camera.frame",
    "SourceError": "gateway.camera.frame",
    "SourceHealth": "gateway.camera.resilient",
    "SourceKind": "gateway.camera.config",
    "detect_image_format": "gateway.camera.imageio",
    "open_source": "gateway.camera.factory",
    "read_image": "gateway.camera.imageio",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
