"""Bad image files: one clear message or "no plate", never a traceback; the camera path keeps running.

Every bad file is made here, at test time, from a real checkpoint scene of ../shared (Pillow,
OpenCV and numpy), and goes through the real decoders, the real TFLite reader and the real
folder camera source.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gateway.camera.folder_source import ImageFolderSource
from gateway.camera.frame import SourceEndedError
from gateway.camera.imageio import (
    MAX_PIXELS,
    ImageDecodeError,
    ImageTooLargeError,
    decode_image,
    decode_image_info,
    read_image,
)
from gateway.camera.resilient import ResilientSource
from tests.plates.conftest import REPO, SHARED, need

SCENE = SHARED / "plates" / "real_scenes_hyperlpr" / "cache_bad2" / "沪A85J08.png"


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return read_image(need(SCENE))


def _jpeg(bgr: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _pil_bytes(im: Image.Image, fmt: str) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt)
    return b.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose IHDR is rewritten (with a valid CRC) to claim ``width`` x ``height``."""
    data = bytearray(_pil_bytes(Image.new("RGB", (8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def png_bomb(width: int, height: int) -> bytes:
    """A *complete* black RGB PNG of ``width`` x ``height``: tiny on disk (zeros compress 1000:1),
    but width x height x 3 bytes once decoded. Compressed row by row, so making it allocates
    nothing big."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    z = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(_pil_bytes(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bad_files(scene: np.ndarray) -> dict[str, tuple[bytes, str]]:
    """name -> (file content, fragment the error message must hold)."""
    jpg = _jpeg(scene)
    png = cv2.imencode(".png", scene)[1].tobytes()
    return {
        "zero_bytes.jpg": (b"", "empty file (0 bytes)"),
        "truncated_half.jpg": (jpg[: len(jpg) // 2], "truncated JPEG"),
        "truncated_in_header.jpg": (jpg[:300], "truncated JPEG"),
        "truncated_half.png": (png[: len(png) // 2], "truncated PNG"),
        "claims_20000x20000.png": (png_claiming(20000, 20000), "20000x20000"),
        "claims_20000x20000.jpg": (jpeg_claiming(20000, 20000), "20000x20000"),
        "notes.txt.jpg": ("车牌 plate list\n沪A85J08\n".encode(), "not a known image format"),
    }


def odd_but_valid(scene: np.ndarray) -> dict[str, bytes]:
    """Files that are valid images in the less common variants a technician may hand over."""
    rgb = Image.fromarray(scene[:, :, ::-1])
    jpg = _jpeg(scene, 95)
    eoi = jpg.rfind(b"\xff\xd9")
    return {
        "cmyk.jpg": _pil_bytes(rgb.convert("CMYK"), "JPEG"),
        "rgb16.png": cv2.imencode(".png", scene.astype(np.uint16) * 257)[1].tobytes(),
        "grey16.png": _pil_bytes(
            Image.fromarray(cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257), "PNG"
        ),
        "grey.png": _pil_bytes(rgb.convert("L"), "PNG"),
        "grey.jpg": _pil_bytes(rgb.convert("L"), "JPEG"),
        "extraneous4.jpg": jpg[:eoi] + b"\x00\x01\x02\x03" + jpg[eoi:],
        "palette.gif": _pil_bytes(rgb, "GIF"),
    }


@pytest.mark.parametrize(
    "name",
    ["zero_bytes.jpg", "truncated_half.jpg", "truncated_in_header.jpg", "truncated_half.png",
     "claims_20000x20000.png", "claims_20000x20000.jpg", "notes.txt.jpg"],
)
def test_bad_file_gives_one_clear_error(scene: np.ndarray, tmp_path: Path, name: str) -> None:
    data, fragment = bad_files(scene)[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageDecodeError) as err:
        read_image(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and fragment in msg, msg
    assert "\n" not in msg and "Traceback" not in msg


def test_oversized_header_is_refused_with_the_limit(scene: np.ndarray) -> None:
    with pytest.raises(ImageTooLargeError, match=r"20000x20000 = 400 megapixels.*limit of 40 MP"):
        decode_image(png_claiming(20000, 20000))
    # Just above the limit, below Pillow's own decompression-bomb limit: still ours that refuses.
    w = 8000
    h = MAX_PIXELS // w + 1
    with pytest.raises(ImageTooLargeError, match=f"{w}x{h}"):
        decode_image(png_claiming(w, h))
    # The limit is a parameter: a small image is refused under a small limit, accepted otherwise.
    png = cv2.imencode(".png", scene)[1].tobytes()
    with pytest.raises(ImageTooLargeError):
        decode_image(png, max_pixels=1000)
    assert decode_image(png).shape == scene.shape


def test_oversized_header_allocates_nothing_big() -> None:
    """The peak memory of refusing a 20000x20000 header, or a complete 10000x10000 PNG of 300 KB,
    is that of decoding an 8x8 image: the 1.2 GB / 300 MB a blind decode would fill is never
    allocated (peak resident memory, measured in fresh processes)."""
    script = (
        "import resource, sys\n"
        "from gateway.camera.imageio import ImageDecodeError, decode_image\n"
        "from tests.plates.test_bad_images import jpeg_claiming, png_bomb, png_claiming\n"
        "data = {'png': png_claiming(20000, 20000), 'jpeg': jpeg_claiming(20000, 20000),"
        " 'bomb': png_bomb(10000, 10000), 'small': png_bomb(8, 8)}[sys.argv[1]]\n"
        "try:\n    decode_image(data)\nexcept ImageDecodeError:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )

    def peak_kb(kind: str) -> int:
        res = subprocess.run([sys.executable, "-c", script, kind], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return int(res.stdout.split()[-1])

    small = peak_kb("small")
    # The bomb decodes to 300 MB: above our limit, below Pillow's own check (179 MP).
    for kind in ("png", "jpeg", "bomb"):
        extra_mb = (peak_kb(kind) - small) / 1024
        assert extra_mb < 50, f"refusing the oversized {kind} header took {extra_mb:.0f} MB more"


def test_directory_and_devices_are_not_images(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="is a directory, not an image file"):
        read_image(tmp_path)
    with pytest.raises(ImageDecodeError, match="not a regular file"):
        read_image("/dev/zero")  # an endless file must not be read into memory
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "name", ["cmyk.jpg", "rgb16.png", "grey16.png", "grey.png", "grey.jpg", "extraneous4.jpg", "palette.gif"]
)
def test_odd_valid_images_decode_to_bgr_and_go_through_the_reader(reader, scene: np.ndarray,
                                                                    name: str) -> None:
    info = decode_image_info(odd_but_valid(scene)[name], name)
    img = info.image
    assert img.shape == scene.shape and img.dtype == np.uint8
    # The same picture, not a blank or a channel mix-up (grey variants compared in grey).
    a = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int)
    b = cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY).astype(int)
    assert np.abs(a - b).mean() < 12, f"{name} decodes to a different picture"
    if name == "cmyk.jpg":  # colour survives the CMYK round trip (no inverted or swapped inks)
        assert np.abs(img.astype(int) - scene).mean() < 4
    if name == "rgb16.png":  # 16 bits scaled down as OpenCV does: exactly the 8-bit scene here
        assert np.array_equal(img, scene)
    if name == "extraneous4.jpg":  # the 4 stray bytes cost nothing: same pixels as without them
        assert np.array_equal(img, decode_image(_jpeg(scene, 95)))
    errors = reader.errors
    reads = reader.read_frame(img)  # a list, maybe empty (grey loses colour); never an exception
    assert reader.errors == errors
    if name == "rgb16.png":
        assert [o.text for o in reads] == [o.text for o in reader.read_frame(scene)]


def test_pillow_decodes_what_opencv_refuses(scene: np.ndarray) -> None:
    gif = odd_but_valid(scene)["palette.gif"]
    assert cv2.imdecode(np.frombuffer(gif, np.uint8), cv2.IMREAD_COLOR) is None  # OpenCV refuses
    info = decode_image_info(gif)
    assert info.decoder == "pillow" and info.header.format == "gif"
    # A JPEG followed by trailing data that looks like an unfinished scan: OpenCV is not
    # trusted with it (it would grey-fill), Pillow decodes it to its end-of-image marker.
    jpg = _jpeg(scene)
    info = decode_image_info(jpg + b"\xff\xda" + bytes(100))
    assert info.decoder == "pillow" and info.image.shape == scene.shape


def test_camera_folder_keeps_running_over_bad_files(reader, scene: np.ndarray, tmp_path: Path) -> None:
    """The gateway's folder camera over every bad file: each is counted and skipped, every good
    frame arrives and goes through the plate reader without an internal failure."""
    folder = tmp_path / "cam"
    folder.mkdir()
    bad = bad_files(scene)
    good = odd_but_valid(scene)
    for name, (data, _) in bad.items():
        (folder / f"b_{name}").write_bytes(data)
    for name, data in good.items():
        (folder / f"g_{name}").write_bytes(data)
    (folder / "c_subfolder").mkdir()
    src = ResilientSource(ImageFolderSource(folder))
    seen = []
    errors_before = reader.errors
    with pytest.raises(SourceEndedError):
        while True:
            frame = src.read()
            seen.append(Path(frame.source).name)
            reader.read_frame(frame.image)
    assert sorted(seen) == sorted(f"g_{n}" for n in good)
    assert src.health.corrupt_frames == len(bad)
    assert src.health.ended and not src.health.gave_up
    assert reader.errors == errors_before, "bad frames reached the plate stage as failures"


# ------------------------------------------------------------------ the parser under hypothesis
def _check_decode(data: bytes) -> None:
    try:
        img = decode_image(data)
    except ImageDecodeError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert 0 < img.shape[0] * img.shape[1] <= MAX_PIXELS


@pytest.fixture(scope="module")
def small_files(scene: np.ndarray) -> dict[str, bytes]:
    crop = scene[330:430, 240:490]  # the plate and some car: small, so each decode is fast
    rgb = Image.fromarray(crop[:, :, ::-1])
    return {"jpeg": _jpeg(crop), "png": cv2.imencode(".png", crop)[1].tobytes(),
            "gif": _pil_bytes(rgb, "GIF"), "bmp": _pil_bytes(rgb, "BMP"),
            "webp": _pil_bytes(rgb, "WEBP"), "tiff": _pil_bytes(rgb, "TIFF")}


FORMATS = ["jpeg", "png", "gif", "bmp", "webp", "tiff"]
HYP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYP
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    _check_decode(data)


@HYP
@given(fmt=st.sampled_from(FORMATS), magic_tail=st.binary(max_size=256))
def test_magic_then_garbage_never_crashes(small_files, fmt: str, magic_tail: bytes) -> None:
    _check_decode(small_files[fmt][:16] + magic_tail)


@HYP
@given(fmt=st.sampled_from(FORMATS), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files_never_crash_the_decoder(small_files, fmt: str, cut: float) -> None:
    data = small_files[fmt]
    _check_decode(data[: int(len(data) * cut)])


@HYP
@given(fmt=st.sampled_from(FORMATS), edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                             st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_files_never_crash_the_decoder(small_files, fmt: str, edits) -> None:
    data = bytearray(small_files[fmt])
    for where, value in edits:
        data[int(len(data) * where)] = value
    _check_decode(bytes(data))
