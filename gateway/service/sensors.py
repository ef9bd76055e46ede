"""The gateway's serial sensor readers as one service component that emits events.

Readers call back on their own threads; each callback makes its event durable in the spool
(one SQLite commit) before returning, which keeps per-node order and never buffers events
in memory where a power cut could lose them.

Why node events carry the node's position: a node stands up to a radio range away from the
gateway, so the gateway's own position would send a patrol to the wrong place. The node
registry holds each node's enrolled position; a node without one gets the gateway's (and a
log line saying how to set it). A liveness thread raises ``device_fault`` ``silent`` for a
node that has gone quiet (gateway/sensors/liveness.py) and clears it when the node is heard.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gateway.events.bodies import Body
from gateway.events.envelope import Location
from gateway.ratelog import RateLimitedLog
from gateway.sensors.budget import FloodChange, Lane, NodeBudget
from gateway.sensors.cards import AllowList, CardConfigError, card_hash, read_card_key
from gateway.sensors.config import SensorsConfig
from gateway.sensors.counters import Counters
from gateway.sensors.frames import FrameType
from gateway.sensors.gps import GpsTimeSource
from gateway.sensors.liveness import Liveness, SilenceChange
from gateway.sensors.records import NodeCheckin, NodeStatus
from gateway.service import sensor_events as se
from gateway.service.producer import EventProducer

log = logging.getLogger(__name__)


class SensorsComponent:
    """Starts the configured node links, GPS and Modbus pollers; records become events."""

    def __init__(self, cfg: SensorsConfig, producer: EventProducer) -> None:
        from gateway.sensors.runtime import SensorCallbacks, SensorReaders

        self.cfg = cfg
        self._producer = producer
        self._fix: Location | None = None
        self._lock = threading.Lock()
        self.counters = Counters()
        self._ratelog = RateLimitedLog(log)
        self._no_position: set[int] = set()
        self.readers = SensorReaders(cfg, SensorCallbacks(
            on_node_reading=lambda r: self._emit(se.node_readings(r), r.node_id),
            on_node_alarm=lambda a: self._emit(se.node_alarm(a), a.node_id),
            on_node_status=self._on_status,
            on_node_checkin=self._on_checkin,
            on_node_frame=self._on_frame,
            admit_node_frame=self._admit,
            on_gps_fix=self._on_fix,
            on_instrument_reading=lambda r: self._emit(se.instrument_readings(r)),
            on_instrument_alarm=lambda a: self._emit(se.instrument_alarm(a)),
        ))
        self.liveness = Liveness(cfg.liveness, self.readers.node_entries)
        self.budget = NodeBudget(cfg.budget)
        self._card_key: bytes | None = None
        self._allow: AllowList | None = None
        if cfg.checkin is not None:
            self._load_cards()
        self._halt = threading.Event()
        self._checker: threading.Thread | None = None

    def _load_cards(self) -> None:
        # A card problem must not stop the gateway: alarms matter more than check-ins.
        assert self.cfg.checkin is not None
        try:
            self._card_key = read_card_key(self.cfg.checkin.key_file)
        except CardConfigError as exc:
            log.error("check-ins: %s; check-ins are dropped until it is fixed and the gateway "
                      "restarted", exc)
            return
        if self.cfg.checkin.allow_list is not None:
            try:
                self._allow = AllowList(self.cfg.checkin.allow_list)
            except CardConfigError as exc:
                log.error("check-ins: %s; check-ins are sent without the known flag until it "
                          "is fixed and the gateway restarted", exc)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.readers.start()
        if self.readers.node_links:
            self._halt.clear()
            self._checker = threading.Thread(target=self._check_loop, name="node-liveness",
                                             daemon=True)
            self._checker.start()

    def stop(self) -> None:
        self._halt.set()
        if self._checker is not None:
            self._checker.join(5)
            self._checker = None
        self.readers.stop()

    def _check_loop(self) -> None:
        while not self._halt.wait(self.cfg.liveness.check_every_s):
            try:
                for change in self.liveness.check():
                    self._silence(change)
                for flood in self.budget.calmed():
                    self._flood(flood)
            except Exception as exc:  # a bug here must not end silence detection for good
                self.counters.add("liveness_errors")
                self._ratelog.log(logging.ERROR, "liveness", "node liveness check failed: %r",
                                  exc)

    # --- where and when ----------------------------------------------------------------------
    def location(self) -> Location | None:
        """The latest GPS fix, if any (events use it before the configured fixed location)."""
        with self._lock:
            return self._fix

    def gps_time(self) -> GpsTimeSource | None:
        """The GPS receiver's time source, when GPS is fitted and offered as a clock."""
        gps = self.readers.gps
        if gps is None or self.cfg.gps is None or not self.cfg.gps.time_source:
            return None
        return gps.time_source

    def node_location(self, node_id: int) -> Location | None:
        """The node's enrolled position, or None (then the gateway's position is used)."""
        entry = self.readers.node_entries().get(node_id)
        pos = entry.position if entry is not None else None
        if pos is None:
            if node_id not in self._no_position:
                self._no_position.add(node_id)
                log.warning("node %d has no position in the node registry: its events carry "
                            "the gateway's. Set it: edgepost provision node %d --lat .. --lon ..",
                            node_id, node_id)
            return None
        try:
            return Location(*pos)
        except ValueError:
            return None

    def health(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.readers.health())
        if self.readers.node_links:
            doc["nodes"] = self.liveness.snapshot()
        extra = self.counters.snapshot()
        if extra:
            doc["events"] = extra
        return doc

    # --- records -> events -------------------------------------------------------------------
    def _on_fix(self, fix: Any) -> None:
        if fix.fix_quality <= 0:
            return
        try:
            loc = Location(fix.latitude, fix.longitude)
        except ValueError:
            return
        with self._lock:
            self._fix = loc

    def _on_frame(self, node_id: int, name: str | None) -> None:
        change = self.liveness.heard(node_id, name)
        if change is not None:
            self._silence(change)

    def _silence(self, change: SilenceChange) -> None:
        verb = "heard again" if change.cleared else "silent"
        log.warning("node %s (id %d) %s after %.0f s", change.name or "-", change.node_id, verb,
                    change.gap_s)
        self._emit(se.silence(change), change.node_id)

    def _on_status(self, s: NodeStatus) -> None:
        self.liveness.status(s.node_id, s.interval_s, "config_fallback" in s.flags,
                             firmware=s.firmware, boot_cause=s.wake_cause)
        self._emit(se.node_status(s), s.node_id)

    def _on_checkin(self, c: NodeCheckin) -> None:
        if self._card_key is None:
            self.counters.add("checkins_dropped")
            self._ratelog.log(logging.ERROR, "checkin",
                              "check-in at node %d dropped: no usable card key ([sensors.checkin] "
                              "key_file); the card id is never sent in clear", c.node_id)
            return
        h = card_hash(self._card_key, c.card_kind, c.card_id)
        known = self._allow.contains(h) if self._allow is not None else None
        if known is False:
            log.warning("check-in at node %s with an unknown card %s", c.node_name or c.node_id,
                        h.hex()[:8])
        self._emit(se.checkin(c, h, known), c.node_id)

    def _flood(self, change: FloodChange) -> None:
        name = se.node_name(change.node_id, change.name)
        if change.cleared:
            log.warning("node %s (id %d) back under its budget: %d %s frame(s) dropped in %.0f s",
                        name, change.node_id, change.dropped, change.lane, change.duration_s)
        else:
            log.warning("node %s (id %d) sends more than %g %s frames a minute: the excess is "
                        "dropped until it calms down ([sensors.budget])", name, change.node_id,
                        change.per_min, change.lane)
        self._emit(se.flooding(change))

    def _admit(self, node_id: int, name: str | None, frame_type: int) -> bool:
        """The decoder asks before it remembers an authentic, fresh frame: within the node's
        budget? (alarm frames in a lane of their own)."""
        lane: Lane = "alarms" if frame_type == FrameType.ALARM else "others"
        allowed, change = self.budget.allow(node_id, name, lane)
        if change is not None:
            self._flood(change)
        if not allowed:
            self.counters.add(f"flood_dropped_{lane}")
        return allowed

    def _emit(self, body: Body | None, node_id: int | None = None) -> None:
        if body is None:
            return
        try:
            loc = self.node_location(node_id) if node_id is not None else None
            self._producer.emit(body, loc=loc)
        except Exception:  # a bad record must not kill a reader thread
            log.exception("sensor event could not be stored")
