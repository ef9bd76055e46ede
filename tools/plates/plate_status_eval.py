"""Measure what the plate stage says of vehicles it can't read: read, unreadable or absent.

Why a tool: the thresholds behind ``plate_status`` (``plates.candidate_min_score``,
``plain_candidate_min_score``, ``absent_min_vehicle_px``) were chosen on real vehicles, and the
figures in docs/protocol.md come from this run; rerun it after a new finder or recognizer::

    PYTHONPATH=. .venv/bin/python tools/plates/plate_status_eval.py [--scenes 100] [--skip 0] [--monochrome]

The vehicles are the toll-lane photos of ``../shared/plates/real_scenes_hyperlpr`` (overlay
masked) whose COCO SSD vehicle box holds the labelled plate and whose plate the reader reads as
labelled, in file order (``tests/plates/unread_scenes.py``). Each is shown to a fresh
:class:`PlateObserver` for three frames as it is, with the plate painted over (bumper colour,
black, white), shrunk to 1/8 and 1/12 of its resolution, and blurred (Gaussian, sigma = plate
height / 8); the table counts the status at the track's end. ``--skip 60`` leaves out the 60
vehicles the thresholds were chosen on; ``--monochrome`` greys every image, as an infrared or
black-and-white camera gives it.
"""

from __future__ import annotations

import argparse
import collections
import time

import cv2
import numpy as np

from gateway.plates.config import PlatesConfig
from gateway.plates.reader import PlateReader
from gateway.service.plate_observer import PlateObserver
from tests.plates import unread_scenes as us


def variants(s: us.Scene) -> dict[str, np.ndarray]:
    """The vehicle as it is and with its plate covered, shrunk or blurred."""
    x, y, w, h = s.plate
    white = s.image.copy()
    white[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8] = (225, 225, 225)
    blurred = s.image.copy()
    blurred[y : y + h, x : x + w] = cv2.GaussianBlur(s.image[y : y + h, x : x + w], (0, 0), h / 8)
    return {"readable": s.image, "covered, bumper colour": s.covered(), "covered, black": s.covered("black"),
            "covered, white": white, "shrunk 1/8": s.shrunk(8), "shrunk 1/12": s.shrunk(12),
            "blurred": blurred}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=100, help="vehicles to use (file order)")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N of them")
    ap.add_argument("--frames", type=int, default=3, help="detector frames per vehicle")
    ap.add_argument("--monochrome", action="store_true", help="every image greyed (a camera at night)")
    args = ap.parse_args(argv)
    reader = PlateReader()
    cfg = PlatesConfig()
    scenes = us.readable_scenes(reader, args.scenes, cfg.absent_min_vehicle_px)[args.skip :]
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    spent, looks = 0.0, 0
    for s in scenes:
        for name, image in variants(s).items():
            if args.monochrome:
                image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            obs = PlateObserver("eval", cfg, reader=reader, has_lines=lambda: False)
            tr = us.track(s)
            frames = us.frames(image, args.frames)
            t0 = time.perf_counter()
            for f in frames:
                obs.observe(f, [tr])
            spent, looks = spent + time.perf_counter() - t0, looks + len(frames)
            ev = obs.track_ended(frames[-1], tr, None)
            table[name][str(ev[0].plate.get("plate_status", "READ")).lower() if ev else "none"] += 1
    print(f"{len(scenes)} vehicles, {spent / max(1, looks) * 1000:.1f} ms per observed frame")
    for name, counts in table.items():
        print(f"  {name:24s} " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
