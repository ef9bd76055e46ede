"""The gateway's serial sensor readers as one service component that emits events.

Readers call back on their own threads; each callback makes its event durable in the spool
(one SQLite commit) before returning, which keeps per-node order and never buffers events
in memory where a power cut could lose them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gateway.events.bodies import Body
from gateway.events.envelope import Location
from gateway.sensors.config import SensorsConfig
from gateway.service import sensor_events as se
from gateway.service.producer import EventProducer

log = logging.getLogger(__name__)


class SensorsComponent:
    """Starts the configured node links, GPS and Modbus pollers; records become events."""

    def __init__(self, cfg: SensorsConfig, producer: EventProducer) -> None:
        from gateway.sensors.runtime import SensorCallbacks, SensorReaders

        self._producer = producer
        self._fix: Location | None = None
        self._lock = threading.Lock()
        self.readers = SensorReaders(cfg, SensorCallbacks(
            on_node_reading=lambda r: self._emit(se.node_readings(r)),
            on_node_alarm=lambda a: self._emit(se.node_alarm(a)),
            on_gps_fix=self._on_fix,
            on_instrument_reading=lambda r: self._emit(se.instrument_readings(r)),
            on_instrument_alarm=lambda a: self._emit(se.instrument_alarm(a)),
        ))

    def start(self) -> None:
        self.readers.start()

    def stop(self) -> None:
        self.readers.stop()

    def location(self) -> Location | None:
        """The latest GPS fix, if any (events use it before the configured fixed location)."""
        with self._lock:
            return self._fix

    def health(self) -> dict[str, Any]:
        return self.readers.health()

    def _on_fix(self, fix: Any) -> None:
        if fix.fix_quality <= 0:
            return
        try:
            loc = Location(fix.latitude, fix.longitude)
        except ValueError:
            return
        with self._lock:
            self._fix = loc

    def _emit(self, body: Body | None) -> None:
        if body is None:
            return
        try:
            self._producer.emit(body)
        except Exception:  # a bad record must not kill a reader thread
            log.exception("sensor event could not be stored")
