"""Synthetic vehicle-passage events, so a fresh install shows the whole path working."""

from __future__ import annotations

import random
import threading

from gateway.config.demo import DemoConfig
from gateway.events.bodies import VehiclePassage
from gateway.events.types import Direction, PlateColour, PlateType
from gateway.service.producer import EventProducer

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"


def random_plate(rng: random.Random) -> str:
    """A well-formed 7-character blue plate such as 京A12345."""
    tail = "".join(rng.choice(DIGITS + LETTERS) for _ in range(5))
    return rng.choice(PROVINCES) + rng.choice(LETTERS) + tail


class DemoSource:
    """A thread that emits one demo event every ``interval_s`` (until ``count`` if set)."""

    def __init__(self, cfg: DemoConfig, producer: EventProducer, seed: int | None = None) -> None:
        self._cfg = cfg
        self._producer = producer
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo", daemon=True)
        self.emitted = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and (self._cfg.count == 0 or n < self._cfg.count):
            n += 1
            body = VehiclePassage(
                plate=random_plate(self._rng), plate_conf=round(self._rng.uniform(0.8, 1.0), 3),
                plate_colour=PlateColour.BLUE, plate_type=PlateType.STANDARD,
                vehicle_class="car", direction=self._rng.choice([Direction.INBOUND,
                                                                 Direction.OUTBOUND]),
                zone="lane-1", track_id=n, camera="demo")
            if self._producer.emit(body) is not None:
                self.emitted += 1
            self._stop.wait(self._cfg.interval_s)
