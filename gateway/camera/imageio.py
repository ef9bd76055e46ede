"""Image decoding from bytes or paths, with the format detected from content.

File names may hold CJK characters, which ``cv2.imread`` cannot open on every platform, so
files are read with ``np.fromfile`` and decoded with ``cv2.imdecode``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Magic numbers of the formats OpenCV decodes; extensions lie, content does not.
_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"BM", 0, "bmp"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"WEBP", 8, "webp"),
    (b"P5", 0, "pgm"),
    (b"P6", 0, "ppm"),
]


class ImageDecodeError(ValueError):
    """The bytes are not an image we can decode (unknown format, truncated, corrupt)."""


def detect_image_format(data: bytes) -> str | None:
    """Return the image format named by the content's magic bytes, or None."""
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if name == "webp" and data[:4] != b"RIFF":
                continue
            return name
    return None


def _jpeg_complete(data: bytes) -> bool:
    # OpenCV decodes a truncated JPEG into a half-grey image without complaint; the end-of-image
    # marker tells us the file is whole (trailing padding after it is allowed).
    return b"\xff\xd9" in data[-64:]


def decode_image(data: bytes, what: str = "image") -> np.ndarray:
    """Decode bytes to a BGR uint8 array; raise :class:`ImageDecodeError` with the reason."""
    fmt = detect_image_format(data)
    if fmt is None:
        raise ImageDecodeError(f"{what}: not a known image format (first bytes {data[:8]!r})")
    if fmt == "jpeg" and not _jpeg_complete(data):
        raise ImageDecodeError(f"{what}: truncated JPEG (no end-of-image marker)")
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise ImageDecodeError(f"{what}: {fmt} data could not be decoded (corrupt)")
    return img


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file (any name, any extension) to a BGR uint8 array."""
    p = Path(path)
    try:
        data = np.fromfile(p, dtype=np.uint8).tobytes()
    except OSError as exc:
        raise ImageDecodeError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    return decode_image(data, what=str(p))
