"""Fixtures for the vision tests: the real model and real media from ../shared.

../shared is found through ``$EDGEPOST_SHARED`` (default ``<repo>/../shared``); it is read
in place, never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.vision.config import DetectorConfig

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
