"""A camera says it has finished only once the exits of its last tracks are out.

The source reports its end first (``source.ended``); the pipeline then ends every open track
and hands on their exits (and, on a plate camera, their reads). ``finished`` in the camera's
health is what a rig or an operator waits on to know that nothing more is coming."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gateway.camera import CameraSourceConfig
from gateway.camera.config import PacingMode
from gateway.camera.folder_source import ImageFolderSource
from gateway.vision.config import VisionCameraConfig
from gateway.vision.events import VisionEvent
from gateway.vision.pipeline import CameraPipeline
from tests.vision.conftest import yolo_camera


def _camera(tmp_path: Path, max_reopens: int | None = None) -> VisionCameraConfig:
    # paced "fast", as the folder source handed over reads: every frame is processed. Paced like
    # a camera, the pipeline would put its latest-frame grabber in front, which keeps only the
    # newest of frames the folder gives as fast as it can, so how many reach the tracker would
    # depend on the machine's load (seen in CI: none, and no track to end)
    return yolo_camera(tmp_path, CameraSourceConfig(uri=str(tmp_path / "frames"), max_reopens=max_reopens,
                                                    pacing=PacingMode.FAST,
                                                    reopen_initial_s=0.05, reopen_max_s=0.05))


def test_finished_comes_after_the_last_tracks_exits(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(8):  # the fixed detections stay in view to the last frame
        cv2.imwrite(str(frames / f"{i:03}.png"), np.full((32, 64, 3), 120, np.uint8))
    seen: list[tuple[str, bool, bool]] = []
    pipe: CameraPipeline

    def on_event(ev: VisionEvent) -> None:
        h = pipe.health()
        seen.append((ev.kind, bool(h["source"].get("ended")), bool(h["finished"])))

    pipe = CameraPipeline("cam", _camera(tmp_path), on_event, source=ImageFolderSource(frames, fps=10.0))
    assert pipe.health()["finished"] is False
    pipe.run()
    exits = [s for s in seen if s[0] == "object_exit"]
    assert exits, seen  # the tracks were open at the end: their exits come from the flush
    # each exit went out after the source had ended and before the camera said it finished
    assert all(ended and not finished for _, ended, finished in exits), exits
    assert pipe.health()["finished"] is True


def test_a_source_that_gives_up_is_finished_too(tmp_path: Path) -> None:
    pipe = CameraPipeline("cam", _camera(tmp_path, max_reopens=2), lambda ev: None,
                          source=ImageFolderSource(tmp_path / "missing"))
    pipe.run()
    assert pipe.health()["finished"] is True
