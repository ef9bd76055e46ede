"""Per-frame failures are counted on every frame but logged rate-limited, not once per frame."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from gateway.camera import CameraSourceConfig, Frame
from gateway.vision.detector import Detector
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import yolo_camera

FRAMES = 40


class _FailingInvokeDetector(Detector):
    """The real detector whose runtime call fails, as a broken delegate or model would."""

    def invoke(self, tensor: np.ndarray) -> list[np.ndarray]:
        raise RuntimeError("tensor arena corrupted")


def _pipeline(tmp_path: Path, on_event) -> CameraPipeline:  # type: ignore[no-untyped-def]
    cfg = yolo_camera(tmp_path, CameraSourceConfig(uri=str(tmp_path / "unused.mp4")))
    return CameraPipeline("cam", cfg, on_event, detector=_FailingInvokeDetector(cfg.detector))


def _frames(n: int) -> list[Frame]:
    img = np.full((32, 64, 3), 120, np.uint8)
    return [Frame(img, i, i * 0.1, time.time(), time.monotonic()) for i in range(n)]


def test_failing_detector_counted_every_frame_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = _pipeline(tmp_path, lambda ev: None)
    with caplog.at_level(logging.DEBUG, logger="gateway.vision.pipeline"):
        for frame in _frames(FRAMES):
            assert pipe.process(frame) == []
    assert pipe.health()["detector_errors"] == FRAMES
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "detector failed on frame 0: RuntimeError: tensor arena corrupted" in errors[0].getMessage()
    # the traceback is still there for a technician who turns on debug logging
    tracebacks = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert len(tracebacks) == FRAMES


def test_failing_event_consumer_logged_once_per_kind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = _pipeline(tmp_path, lambda ev: None)
    pipe.detector = Detector(pipe.cfg.detector)  # a working detector: tracks and events happen

    def broken_consumer(ev: object) -> None:
        raise OSError("spool disk full")

    pipe.on_event = broken_consumer
    with caplog.at_level(logging.WARNING, logger="gateway.vision.pipeline"):
        for frame in _frames(FRAMES):
            pipe.process(frame)
        pipe.finish()
    h = pipe.health()
    assert h["callback_errors"] >= 2  # at least one enter and one exit were refused
    failures = [r.getMessage() for r in caplog.records if "on_event failed" in r.getMessage()]
    kinds = {m.split("on_event failed for ")[1].split(":")[0] for m in failures}
    assert len(failures) == len(kinds), failures  # one line per event kind, not per event
    assert {"object_enter", "object_exit"} <= kinds
