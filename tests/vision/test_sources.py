"""Frame sources: files that end, devices that vanish, corrupt frames, CJK file names."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from gateway.camera import (
    CameraSourceConfig,
    Frame,
    ImageDecodeError,
    LatestFrameGrabber,
    PacingMode,
    ResilientSource,
    SourceEndedError,
    SourceError,
    SourceKind,
    detect_image_format,
    open_source,
    read_image,
)
from gateway.camera.opencv_source import OpenCVSource
from gateway.camera.picamera_source import INSTALL_HINT, Picamera2Source
from gateway.vision.config import RulesConfig, VisionCameraConfig
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import CAR_VIDEO, PERSON_VIDEO


def test_video_file_yields_timestamps_then_ends(shared: Path) -> None:
    src = OpenCVSource(str(shared / CAR_VIDEO), pacing=PacingMode.FAST)
    src.open()
    frames = []
    with pytest.raises(SourceEndedError):
        while True:
            frames.append(src.read())
    src.close()
    assert len(frames) == 377
    assert frames[0].size == (768, 432)
    # media clock: 12.5 fps, independent of CPU speed
    assert frames[25].t == pytest.approx(2.0)
    assert frames[-1].t == pytest.approx(376 / 12.5)
    assert frames[10].wall - frames[0].wall == pytest.approx(0.8)
    assert all(b.mono >= a.mono for a, b in itertools.pairwise(frames))


def test_realtime_pacing_follows_media_rate(shared: Path) -> None:
    src = OpenCVSource(str(shared / PERSON_VIDEO), pacing=PacingMode.REALTIME)
    src.open()
    t0 = time.monotonic()
    for _ in range(6):
        src.read()
    elapsed = time.monotonic() - t0
    src.close()
    assert elapsed >= 0.45  # 6 frames at 10 fps: the 6th is due at 0.5 s


def test_missing_file_and_device_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        OpenCVSource(str(tmp_path / "nope.mp4")).open()
    with pytest.raises(SourceError, match="cannot open"):
        OpenCVSource("/dev/video99").open()


def test_vanished_device_backs_off_counts_and_gives_up() -> None:
    waits: list[float] = []
    src = ResilientSource(
        OpenCVSource("/dev/video99"), initial_s=0.5, max_s=2.0, max_reopens=4, sleep=waits.append
    )
    with pytest.raises(SourceError, match="gave up"):
        src.read()
    assert src.health.failed_opens == 5
    assert src.health.gave_up
    assert waits == [0.5, 1.0, 2.0, 2.0]  # exponential backoff, capped
    assert "/dev/video99" in src.health.last_error


class FlakyCamera:
    """A real video file that 'loses its device' after a few frames, like a USB camera
    unplugged and plugged back in; reopening resumes delivering frames."""

    live = True

    def __init__(self, path: str, die_after: int, fail_opens: int) -> None:
        self.inner = OpenCVSource(path, pacing=PacingMode.FAST)
        self.name = "flaky"
        self.die_after = die_after
        self.fail_opens = fail_opens
        self.opens = 0
        self.count = 0

    def open(self) -> None:
        self.opens += 1
        if 1 < self.opens <= 1 + self.fail_opens:
            raise SourceError("no such device /dev/video0")
        self.inner.open()

    def read(self) -> Frame:
        self.count += 1
        if self.count == self.die_after:
            raise SourceError("VIDIOC_DQBUF: No such device")
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


def test_device_that_vanishes_is_reopened(shared: Path) -> None:
    flaky = FlakyCamera(str(shared / CAR_VIDEO), die_after=5, fail_opens=2)
    src = ResilientSource(flaky, initial_s=0.01, max_s=0.02)
    frames = [src.read() for _ in range(10)]
    assert len(frames) == 10
    assert src.health.source_errors == 1
    assert src.health.failed_opens == 2
    assert src.health.reopens == 1
    assert src.health.frames == 10


def test_image_format_from_content_and_cjk_names(shared: Path, tmp_path: Path) -> None:
    jpg = shared / "media/images/darknet_person.jpg"
    bmp = shared / "media/images/coral_grace_hopper.bmp"
    folder = tmp_path / "摄像头"
    folder.mkdir()
    # Wrong extensions on purpose: the content decides.
    shutil.copyfile(jpg, folder / "01_行人.png")
    shutil.copyfile(bmp, folder / "02_格蕾丝.jpg")
    (folder / "03_损坏.jpg").write_bytes(jpg.read_bytes()[:5000])  # truncated JPEG
    (folder / "04_文本.jpg").write_bytes(b"not an image at all")
    png_ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert png_ok
    (folder / "05_黑.bin").write_bytes(png.tobytes())
    assert detect_image_format((folder / "01_行人.png").read_bytes()) == "jpeg"
    assert detect_image_format((folder / "02_格蕾丝.jpg").read_bytes()) == "bmp"
    assert read_image(folder / "02_格蕾丝.jpg").shape == (600, 512, 3)
    with pytest.raises(ImageDecodeError, match="truncated JPEG"):
        read_image(folder / "03_损坏.jpg")

    cfg = CameraSourceConfig(kind=SourceKind.FOLDER, uri=str(folder), pacing=PacingMode.FAST)
    src = ResilientSource(open_source(cfg))
    frames = []
    with pytest.raises(SourceEndedError):
        while True:
            frames.append(src.read())
    assert [Path(f.source).name for f in frames] == ["01_行人.png", "02_格蕾丝.jpg", "05_黑.bin"]
    assert src.health.corrupt_frames == 2
    assert "not a known image format" in src.health.last_error or "truncated" in (
        src.health.last_error
    )
    assert src.health.ended


def test_latest_frame_grabber_drops_instead_of_queueing(shared: Path) -> None:
    # Played at its real rate (10 fps) with a consumer that takes 0.35 s per frame, a queue
    # would lag further behind every frame; the grabber hands over the newest one instead.
    grab = LatestFrameGrabber(OpenCVSource(str(shared / PERSON_VIDEO), pacing=PacingMode.REALTIME))
    grab.open()
    try:
        t0 = time.monotonic()
        seen = []
        for _ in range(4):
            f = grab.read(timeout=2.0)
            seen.append(f.index)
            time.sleep(0.35)
        lag = (time.monotonic() - t0) - seen[-1] / 10.0
    finally:
        grab.close()
    assert seen == sorted(seen)
    assert seen[-1] >= 9  # skipped ahead to the newest frame
    assert grab.dropped >= 5
    assert lag < 0.6


def test_picamera2_missing_is_a_clear_source_error() -> None:
    # Off a Pi, importing picamera2 fails ('libcamera' or the package itself is missing):
    # the source reports how to fix it instead of crashing at import time.
    src = Picamera2Source(0)
    with pytest.raises(SourceError) as err:
        src.open()
    assert INSTALL_HINT.split(":")[0] in str(err.value)
    resilient = ResilientSource(src, max_reopens=0, sleep=lambda s: None)
    with pytest.raises(SourceError, match="gave up"):
        resilient.read()
    assert resilient.health.failed_opens == 1


def test_pipeline_survives_corrupt_frames_and_dead_camera(
    shared: Path, ssd_config, caplog: pytest.LogCaptureFixture
) -> None:
    events = []
    cfg = VisionCameraConfig(
        source=CameraSourceConfig(uri=str(shared / CAR_VIDEO), pacing=PacingMode.FAST),
        detector=ssd_config,
        rules=RulesConfig(classes=["person"]),
    )
    pipe = CameraPipeline("cam", cfg, events.append)
    good = Frame(np.zeros((432, 768, 3), np.uint8), 0, 0.0, time.time(), time.monotonic())
    pipe.process(good)
    pipe.process(Frame(np.zeros((0,), np.uint8), 1, 0.1, time.time(), time.monotonic()))
    pipe.process(Frame(np.zeros((10, 10), np.uint8), 2, 0.2, time.time(), time.monotonic()))
    pipe.process(good)
    h = pipe.health()
    assert h["corrupt_frames"] == 2
    assert h["frames"] == 2
    assert "not a BGR image" in caplog.text

    # A camera whose device is gone: run() returns (no exception), health says why.
    dead_cfg = cfg.model_copy(update={"source": CameraSourceConfig(
        uri="/dev/video99", max_reopens=1, reopen_initial_s=0.01)})
    dead = CameraPipeline("dead", dead_cfg, events.append, detector=pipe.detector)
    runner = threading.Thread(target=dead.run)
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert dead.health()["source"]["gave_up"] is True
    assert "giving up" in caplog.text


def test_pipeline_on_realtime_source_uses_latest_frame(shared: Path, ssd_config) -> None:
    cfg = VisionCameraConfig(
        source=CameraSourceConfig(uri=str(shared / CAR_VIDEO), pacing=PacingMode.REALTIME),
        detector=ssd_config,
        rules=RulesConfig(classes=["person"]),
    )
    pipe = CameraPipeline("rt", cfg, lambda e: None)
    t0 = time.monotonic()
    pipe.run(max_frames=15)
    elapsed = time.monotonic() - t0
    h = pipe.health()
    assert h["frames"] == 15
    assert "dropped" in h["source"]  # went through the latest-frame grabber
    assert elapsed >= 14 / 12.5 - 0.1  # paced like a camera
    assert pipe.snapshot() is not None and pipe.snapshot()[:3] == b"\xff\xd8\xff"
