"""Fixtures for the plate tests: real interpreters over the committed models and ../shared data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # plain `pytest` (not `python -m pytest`) must find models/ and tests/
    sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
DEV_CROPS = SHARED / "plates" / "dev_crops"
MEDIA = SHARED / "media" / "images"
SSD = SHARED / "models" / "coco_ssd_mobilenet_v1"


def grey(img: np.ndarray) -> np.ndarray:
    """``img`` as an infrared or black-and-white camera gives it: the same grey in all channels."""
    import cv2

    return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"reference data not present: {path} (the shared data must sit at ../shared)")
    return path


@pytest.fixture(scope="session")
def recognizer():
    from gateway.plates.recognizer import PlateRecognizer

    return PlateRecognizer()


@pytest.fixture(scope="session")
def reader():
    from gateway.plates.reader import PlateReader

    return PlateReader()
