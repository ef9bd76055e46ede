"""Frame sources for the gateway's cameras.

Every source yields :class:`~gateway.camera.frame.Frame` objects carrying the image and its
capture timestamps. :func:`open_source` builds the right source from a
:class:`~gateway.camera.config.CameraSourceConfig`; :class:`ResilientSource` reopens a dead
source with backoff; :class:`LatestFrameGrabber` keeps only the newest frame of a live source.
"""

from gateway.lazy import lazy_exports

# Resolved on first use (gateway/lazy.py explains why).
_EXPORTS = {
    "CameraSourceConfig": "gateway.camera.config",
    "Frame": "gateway.camera.frame",
    "FrameSource": "gateway.camera.frame",
    "ImageDecodeError": "gateway.camera.imageio",
    "LatestFrameGrabber": "gateway.camera.latest",
    "PacingMode": "gateway.camera.config",
    "ResilientSource": "gateway.camera.resilient",
    "SourceEndedError": "gateway.camera.frame",
    "SourceError": "gateway.camera.frame",
    "SourceHealth": "gateway.camera.resilient",
    "SourceKind": "gateway.camera.config",
    "detect_image_format": "gateway.camera.imageio",
    "open_source": "gateway.camera.factory",
    "read_image": "gateway.camera.imageio",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
