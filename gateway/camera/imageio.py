"""Image decoding from bytes or paths, with the format detected from content.

Why two decoders and a header check: OpenCV is the fast path (BGR out, EXIF orientation
applied), but it refuses some files Pillow reads (GIF, TGA, ICO, JPEGs with damaged markers on
some builds), and it decodes a truncated JPEG into a half-grey image without complaint. And
neither library may be handed a file blindly on a Pi: a 2 KB file whose header claims
20000x20000 pixels makes OpenCV allocate 1.2 GB. So every image is first *probed*: Pillow
parses only the header (no pixel data), and the claimed size is checked against
:data:`MAX_PIXELS` before anything is decoded.

Contract: :func:`decode_image` / :func:`read_image` return a BGR ``uint8`` array of shape
``(h, w, 3)`` (grey, 16-bit, CMYK, palette and alpha images are converted), or raise
:class:`ImageDecodeError` whose text names the file and says what is wrong; nothing larger
than :data:`MAX_PIXELS` is ever allocated. File names may hold CJK characters, which
``cv2.imread`` cannot open on every platform, so files are read with Python and decoded from
memory.
"""

from __future__ import annotations

import io
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

#: Largest image decoded, in pixels (width x height). 40 MP covers every Raspberry Pi camera
#: (HQ camera 12.3 MP, Camera Module 3 11.9 MP) and 8K UHD (33 MP); as BGR it is 120 MB, which
#: a 1 GB Pi can still hold once. A header claiming more is refused before decoding.
MAX_PIXELS = 40_000_000
#: Largest file read into memory: a file bigger than an uncompressed 16-bit RGBA image within
#: :data:`MAX_PIXELS` cannot be an image we would decode (a video, a disk image).
MAX_FILE_BYTES = 8 * MAX_PIXELS + (1 << 20)

# Our own limit is stricter than Pillow's decompression-bomb warning (89 MP), so that warning
# would only repeat, on stderr, a refusal we already report clearly.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

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

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


class ImageDecodeError(ValueError):
    """The bytes are not an image we can decode (unknown format, truncated, corrupt, too large)."""


class ImageTooLargeError(ImageDecodeError):
    """The image header claims more pixels than :data:`MAX_PIXELS` (refused before decoding)."""


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header claims, read without decoding any pixel data."""

    #: lower-case format name (``"jpeg"``, ``"png"``, ``"gif"``, ...)
    format: str
    width: int
    height: int
    #: Pillow's mode name (``"RGB"``, ``"L"``, ``"CMYK"``, ``"I;16"``, ``"P"``, ...)
    mode: str

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width * self.height


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image with its header and the decoder that succeeded."""

    image: np.ndarray
    header: ImageHeader
    #: ``"opencv"`` (the fast path) or ``"pillow"`` (when OpenCV refused the data)
    decoder: str


def detect_image_format(data: bytes) -> str | None:
    """Return the image format named by the content's magic bytes, or None."""
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if name == "webp" and data[:4] != b"RIFF":
                continue
            return name
    return None


def _jpeg_complete(data: bytes) -> bool:
    # OpenCV decodes a truncated JPEG into a half-grey image without complaint. A whole file has
    # an end-of-image marker after its last start-of-scan (an EXIF thumbnail carries its own
    # pair earlier in the file; anything may follow the EOI). A false "incomplete" only sends
    # the file to Pillow, which decodes to the EOI and refuses real truncation itself.
    eoi = data.rfind(b"\xff\xd9")
    return eoi > data.rfind(b"\xff\xda")


def _too_large(what: str, pixels: int, size: str, max_pixels: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{what}: the header claims {size}{pixels / 1e6:.0f} megapixels, more than the limit of "
        f"{max_pixels / 1e6:.0f} MP; refused without decoding (scale the image down)"
    )


def _size_without_bomb_check(data: bytes) -> tuple[int, int] | None:
    # Pillow refuses to report the size of a header above 179 MP; ask its format plugins
    # directly (as Image.open does, minus that check) so the message can name the dimensions.
    prefix = data[:16]
    for fid in Image.ID:
        factory, accept = Image.OPEN[fid]
        ok = accept(prefix) if accept else True
        if not ok or isinstance(ok, str):
            continue
        try:
            im = factory(io.BytesIO(data))
        except Exception:  # not this plugin's format (each raises its own type)
            continue
        return im.size
    return None


def probe_image(data: bytes, what: str = "image", *, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """Read format, size and mode from the header only; raise :class:`ImageDecodeError` if the
    data is empty or not an image, :class:`ImageTooLargeError` above ``max_pixels``."""
    if not data:
        raise ImageDecodeError(f"{what}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:  # parses the header; no pixel data yet
            header = ImageHeader((im.format or "unknown").lower(), im.width, im.height, im.mode)
    except Image.DecompressionBombError as exc:
        size = _size_without_bomb_check(data)
        if size is not None:
            w, h = size
            raise _too_large(what, w * h, f"{w}x{h} = ", max_pixels) from None
        m = _BOMB_PIXELS.search(str(exc))
        raise _too_large(what, int(m.group(1)) if m else 0, "", max_pixels) from None
    except Exception:  # Pillow's header parsers raise many types on garbage (SyntaxError, struct.error, ...)
        fmt = detect_image_format(data)
        if fmt is None:
            raise ImageDecodeError(
                f"{what}: not a known image format (first bytes {data[:8]!r})"
            ) from None
        if (fmt == "jpeg" and b"\xff\xd9" not in data) or (fmt == "png" and b"IEND" not in data):
            raise ImageDecodeError(
                f"{what}: truncated {fmt.upper()} (the file ends inside its header)"
            ) from None
        raise ImageDecodeError(f"{what}: {fmt} data with a corrupt header") from None
    if header.width <= 0 or header.height <= 0:
        raise ImageDecodeError(f"{what}: {header.format} header claims an empty image")
    if header.pixels > max_pixels:
        raise _too_large(what, header.pixels, f"{header.width}x{header.height} = ", max_pixels)
    return header


def _pillow_to_bgr(data: bytes) -> np.ndarray:
    """Decode with Pillow (first frame) to BGR uint8; raises OSError and friends on bad data."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        im = ImageOps.exif_transpose(opened)  # OpenCV applies EXIF orientation too
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # High bit depth grey: scale to 8 bits as OpenCV does, instead of clipping at 255.
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    rgb = np.asarray(im.convert("RGB"))  # CMYK, palette, grey, alpha, YCbCr -> RGB
    return np.ascontiguousarray(rgb[:, :, ::-1])


def decode_image_info(
    data: bytes, what: str = "image", *, max_pixels: int = MAX_PIXELS
) -> DecodedImage:
    """Probe, then decode with OpenCV, falling back to Pillow; see the module docstring."""
    header = probe_image(data, what, max_pixels=max_pixels)
    trust_opencv = header.format != "jpeg" or _jpeg_complete(data)
    if trust_opencv:
        try:
            img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        except cv2.error:  # some corrupt inputs make OpenCV throw instead of returning None
            img = None
        if img is not None and img.size > 0:
            return DecodedImage(img, header, "opencv")
    try:
        img = _pillow_to_bgr(data)
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError, ... on bad data
        reason = str(exc).split("\n")[0] or type(exc).__name__
        if "truncated" in reason:
            raise ImageDecodeError(f"{what}: truncated {header.format.upper()} ({reason})") from None
        raise ImageDecodeError(f"{what}: {header.format} data could not be decoded ({reason})") from None
    if img.ndim != 3 or img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageDecodeError(f"{what}: {header.format} data decoded to an empty image")
    return DecodedImage(img, header, "pillow")


def decode_image(data: bytes, what: str = "image", *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode bytes to a BGR uint8 array; raise :class:`ImageDecodeError` with the reason."""
    return decode_image_info(data, what, max_pixels=max_pixels).image


def read_image_bytes(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a file that may be an image; :class:`ImageDecodeError` for directories, devices,
    unreadable and oversized files."""
    p = Path(path)
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise ImageDecodeError(f"{p}: is a directory, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageDecodeError(f"{p}: not a regular file (device, pipe or socket)")
        if st.st_size > max_bytes:
            raise ImageDecodeError(
                f"{p}: {st.st_size / 1e6:.0f} MB is larger than any image edgepost decodes "
                f"({max_bytes / 1e6:.0f} MB)"
            )
        return p.read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"{p}: cannot read ({exc.strerror or exc})") from None


def read_image_info(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Read and decode an image file, with its header and the decoder used."""
    p = Path(path)
    return decode_image_info(read_image_bytes(p), what=str(p), max_pixels=max_pixels)


def read_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file (any name, any extension) to a BGR uint8 array."""
    return read_image_info(path, max_pixels=max_pixels).image
