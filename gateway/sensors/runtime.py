"""Start and stop all configured sensor readers, one thread each, behind one object.

This is what the gateway service composes: give it the ``[sensors]`` config and the
callbacks that turn records into events; ask it for health counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.ratelog import RateLimitedLog
from gateway.sensors.config import NodeLinkConfig, SensorsConfig
from gateway.sensors.counters import Counters
from gateway.sensors.gps import NmeaGpsReader
from gateway.sensors.keys import NodeEntry, NodeKeyRegistry
from gateway.sensors.modbus import ModbusPoller
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import (
    GpsFix,
    InstrumentAlarm,
    InstrumentReading,
    NodeAlarm,
    NodeCheckin,
    NodeReading,
    NodeStatus,
)
from gateway.sensors.replay import ReplayStateError, ReplayWindow
from gateway.sensors.serialport import SerialPortReader

log = logging.getLogger(__name__)


@dataclass
class SensorCallbacks:
    """Where records go. Callbacks run on reader threads: keep them short (enqueue)."""

    on_node_reading: Callable[[NodeReading], None] | None = None
    on_node_alarm: Callable[[NodeAlarm], None] | None = None
    on_node_status: Callable[[NodeStatus], None] | None = None
    on_node_checkin: Callable[[NodeCheckin], None] | None = None
    # (node id, name) of every accepted frame, before its records (liveness)
    on_node_frame: Callable[[int, str | None], None] | None = None
    # (node id, name, frame type) of an authentic, fresh frame: False drops it (flood budget)
    admit_node_frame: Callable[[int, str | None, int], bool] | None = None
    on_gps_fix: Callable[[GpsFix], None] | None = None
    on_instrument_reading: Callable[[InstrumentReading], None] | None = None
    on_instrument_alarm: Callable[[InstrumentAlarm], None] | None = None


class NodeLink:
    """A node-link port: serial reader -> decoder, key-file reload, replay state on disk.

    The replay window saves itself whenever an accepted frame moves it (see
    :mod:`gateway.sensors.replay`), so a crash cannot re-open sequence numbers.
    """

    def __init__(self, cfg: NodeLinkConfig, callbacks: SensorCallbacks) -> None:
        self.cfg = cfg
        self.counters = Counters()
        self._ratelog = RateLimitedLog(log)
        self.keys = NodeKeyRegistry.from_file(cfg.key_file)
        state = Path(cfg.replay_state_file) if cfg.replay_state_file is not None else None
        self.window = ReplayWindow(cfg.replay_window, state_file=state,
                                   on_save_error=self._save_failed)
        if state is not None:
            self._load_state(state)
        self.decoder = NodeLinkDecoder(
            self.keys, callbacks.on_node_reading, callbacks.on_node_alarm,
            callbacks.on_node_status, window=self.window, source=cfg.name,
            counters=self.counters, on_checkin=callbacks.on_node_checkin,
            on_frame=callbacks.on_node_frame, admit=callbacks.admit_node_frame,
        )
        self.reader = SerialPortReader(cfg.serial, self._sink, name=cfg.name,
                                       counters=self.counters)
        self._next_key_check = 0.0

    def _load_state(self, state: Path) -> None:
        try:
            state.parent.mkdir(parents=True, exist_ok=True)
            if state.exists():
                self.window.load(state)
        except (OSError, ReplayStateError) as exc:
            # Losing it only re-opens old seqs until nodes send newer ones; say so.
            self.counters.add("state_load_errors")
            log.error("node link %s: replay state %s unreadable (%s); starting empty, so "
                      "frames older than the nodes' next ones may be accepted once. Check "
                      "the disk; the file is rewritten with the next accepted frame.",
                      self.cfg.name, state, exc)

    def _save_failed(self, exc: OSError) -> None:
        # Called on the reader thread for every failed save: count each, log rarely.
        self.counters.add("state_save_errors")
        self._ratelog.log(
            logging.ERROR, "save",
            "node link %s: cannot save replay state %s (%s); frames are still accepted, but "
            "after a crash the last ones could be replayed. Free space or fix the disk.",
            self.cfg.name, self.cfg.replay_state_file, exc)

    def _sink(self, data: bytes) -> None:
        now = time.monotonic()
        try:
            if now >= self._next_key_check:
                self._next_key_check = now + self.cfg.key_reload_interval_s
                self.keys.reload_if_changed(lambda exc: self.counters.add("key_file_errors"))
        finally:
            # whatever the key check does, the bytes read go to the decoder: dropping a chunk
            # would cut the frames in it (an alarm among them)
            self.decoder.feed(data)

    def save_state(self) -> None:
        """Persist the replay window now (no-op without ``replay_state_file``).

        Normally not needed: the window saves itself on every move.
        """
        if self.cfg.replay_state_file is None:
            return
        try:
            self.window.save(Path(self.cfg.replay_state_file))
        except OSError as exc:
            self._save_failed(exc)

    def start(self) -> None:
        """Start reading."""
        self.reader.start()

    def stop(self) -> None:
        """Stop reading and save the replay state."""
        self.reader.stop()
        self.save_state()


class SensorReaders:
    """All readers of one gateway. ``start()``/``stop()``; ``health()`` for the health topic."""

    def __init__(self, cfg: SensorsConfig, callbacks: SensorCallbacks) -> None:
        self.node_links = [NodeLink(c, callbacks) for c in cfg.node_links]
        self.gps = NmeaGpsReader(cfg.gps, callbacks.on_gps_fix) if cfg.gps else None
        self.modbus = [ModbusPoller(c, callbacks.on_instrument_reading,
                                    callbacks.on_instrument_alarm) for c in cfg.modbus]

    def start(self) -> None:
        """Start every reader (each in its own thread)."""
        for link in self.node_links:
            link.start()
        if self.gps is not None:
            self.gps.start()
        for poller in self.modbus:
            poller.start()

    def stop(self) -> None:
        """Stop every reader."""
        for link in self.node_links:
            link.stop()
        if self.gps is not None:
            self.gps.stop()
        for poller in self.modbus:
            poller.stop()

    def node_entries(self) -> dict[int, NodeEntry]:
        """Every enrolled node of every link's registry (the first link wins a duplicate)."""
        out: dict[int, NodeEntry] = {}
        for link in reversed(self.node_links):
            for node_id in link.keys.node_ids():
                entry = link.keys.entry_for(node_id)
                if entry is not None:
                    out[node_id] = entry
        return out

    def health(self) -> dict[str, dict[str, int]]:
        """Counters per reader, e.g. {"nodelink:radio0": {"frames_ok": 12, ...}}."""
        out = {f"nodelink:{link.cfg.name}": link.counters.snapshot() for link in self.node_links}
        if self.gps is not None:
            out["gps"] = self.gps.counters.snapshot()
        for p in self.modbus:
            out[f"modbus:{p.cfg.serial.port}"] = p.counters.snapshot()
        return out
