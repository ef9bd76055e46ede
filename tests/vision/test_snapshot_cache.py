"""A camera's snapshot is encoded at most once per frame and per interval, whoever asks.

Found by probing (session 42): every snapshot request (the page's live view, cmd/snapshot)
annotated and encoded a whole frame, so one logged-in client asking in a loop, or many open
live views, could take the CPU that detection runs on (1005 encodes a second from one thread
of this host, on a 768 x 432 frame; tens of ms each at 1080p on a Pi).
"""

from __future__ import annotations

import threading
import time

import pytest

from gateway.camera.frame import Frame
from gateway.vision import pipeline as pipeline_module
from gateway.vision.config import VisionCameraConfig
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import CAR_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir


@pytest.fixture
def camera() -> CameraPipeline:
    sh = shared_dir()
    cfg = VisionCameraConfig.model_validate({
        "source": {"uri": str(sh / CAR_VIDEO), "pacing": "fast"},
        "detector": {"model": str(sh / SSD_MODEL), "labels": str(sh / SSD_LABELS)}})
    cam = CameraPipeline("lane", cfg, lambda ev: None)
    cam.run(max_frames=5)
    return cam


def test_a_burst_of_requests_costs_one_encode(camera: CameraPipeline) -> None:
    first = camera.snapshot()
    assert first is not None and first[:2] == b"\xff\xd8"
    results: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: results.extend(camera.snapshot() for _ in range(50)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and all(r is first for r in results)
    assert camera.snapshots_made == 1


def test_a_new_frame_or_new_rules_are_drawn(camera: CameraPipeline,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = camera.snapshot()
    last = camera._last_frame
    assert last is not None
    newer = Frame(last.image.copy(), last.index + 1, last.t + 0.04, last.wall + 0.04, time.monotonic())
    camera.process(newer)
    assert camera.snapshot() is first, "a newer frame within the interval: the last JPEG"
    monkeypatch.setattr(pipeline_module, "SNAPSHOT_MIN_INTERVAL_S", 0.0)
    second = camera.snapshot()
    assert second is not first and camera.snapshots_made == 2, "past the interval: the new frame"
    raw = camera.cfg.model_dump(mode="json")
    raw["rules"]["zones"] = [{"name": "shore", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}]
    camera._swap(VisionCameraConfig.model_validate(raw))  # what a zone edit does at the next frame
    third = camera.snapshot()
    assert third is not second and camera.snapshots_made == 3, "new rules: drawn at once"
