"""Fixtures for the vision tests: the real model and real media from ../shared.

../shared is found through ``$EDGEPOST_SHARED`` (default ``<repo>/../shared``); it is read
in place, never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.camera import CameraSourceConfig
from gateway.vision.config import (
    DecoderKind,
    DetectorConfig,
    MotionGateConfig,
    RulesConfig,
    TamperConfig,
    VisionCameraConfig,
)

REPO = Path(__file__).resolve().parents[2]
SSD_MODEL = "models/coco_ssd_mobilenet_v1/detect.tflite"
SSD_LABELS = "models/coco_ssd_mobilenet_v1/labelmap.txt"
PERSON_VIDEO = "media/video/one-by-one-person-detection.mp4"
CAR_VIDEO = "media/video/car-detection.mp4"


def shared_dir() -> Path:
    """``$EDGEPOST_SHARED``, else ``<repo>/../shared``; fails loudly when missing."""
    path = Path(os.environ.get("EDGEPOST_SHARED") or REPO.parent / "shared")
    if not (path / "models").is_dir():
        raise FileNotFoundError(
            f"shared reference data not found at {path}: set EDGEPOST_SHARED to the folder "
            "that holds models/ and media/"
        )
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def ssd_config(shared: Path) -> DetectorConfig:
    return DetectorConfig(
        model=str(shared / SSD_MODEL), labels=str(shared / SSD_LABELS), min_score=0.5
    )


def yolo_camera(tmp_path: Path, source: CameraSourceConfig) -> VisionCameraConfig:
    """A camera over ``source`` whose real TFLite detector (a tiny built YOLO model, fixed
    detections of person and car) runs on every frame; no tamper check (uniform test frames
    would read as a covered lens)."""
    from tests.vision.test_detector import yolo_predictions
    from tests.vision.tflite_builder import write_yolo_model

    labels = tmp_path / "labels.txt"
    labels.write_text("person\ncar\n", encoding="utf-8")
    return VisionCameraConfig(
        source=source,
        detector=DetectorConfig(model=str(write_yolo_model(tmp_path / "y.tflite", yolo_predictions())),
                                labels=str(labels), decoder=DecoderKind.YOLO, min_score=0.5),
        motion=MotionGateConfig(enabled=False),  # the detector runs on every frame
        rules=RulesConfig(classes=["person", "car"]),
        tamper=TamperConfig(enabled=False),
    )
