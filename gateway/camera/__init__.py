"""Frame sources for the gateway's cameras.

Every source yields :class:`~gateway.camera.frame.Frame` objects carrying the image and its
capture timestamps. :func:`open_source` builds the right source from a
:class:`~gateway.camera.config.CameraSourceConfig`; :class:`ResilientSource` reopens a dead
source with backoff; :class:`LatestFrameGrabber` keeps only the newest frame of a live source.
"""

from gateway.camera.config import CameraSourceConfig, PacingMode, SourceKind
from gateway.camera.factory import open_source
from gateway.camera.frame import Frame, FrameSource, SourceEnded, SourceError
from gateway.camera.imageio import ImageDecodeError, detect_image_format, read_image
from gateway.camera.latest import LatestFrameGrabber
from gateway.camera.resilient import ResilientSource, SourceHealth

__all__ = [
    "CameraSourceConfig",
    "Frame",
    "FrameSource",
    "ImageDecodeError",
    "LatestFrameGrabber",
    "PacingMode",
    "ResilientSource",
    "SourceEnded",
    "SourceError",
    "SourceHealth",
    "SourceKind",
    "detect_image_format",
    "open_source",
    "read_image",
]
