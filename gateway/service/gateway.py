"""Composition root of the gateway: builds the parts from the configuration and supervises them.

Everything that produces events gets the same :class:`EventProducer`; everything that has
something to say about its health registers a snapshot with :class:`Health`.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway.config import GatewayConfig, config_hash
from gateway.events.bodies import DeviceFault
from gateway.events.codec import Format, dump_document
from gateway.events.envelope import Location, now_ms
from gateway.events.topics import Topics
from gateway.events.types import Severity
from gateway.service.cameras import CameraComponent
from gateway.service.clock import TrustedClock
from gateway.service.commands import CommandRouter
from gateway.service.demo_source import DemoSource
from gateway.service.health import Health
from gateway.service.producer import EventProducer
from gateway.service.sdnotify import SystemdNotifier
from gateway.service.state import state_document
from gateway.uplink.publisher import Uplink
from gateway.uplink.spool import Spool, SpoolError
from gateway.vision.schedule import LevelController, level_command

if TYPE_CHECKING:  # serial, NMEA and Modbus are imported only when a sensor is configured
    from gateway.service.sensors import SensorsComponent

log = logging.getLogger(__name__)
EXPIRE_EVERY_S = 60.0


class Component(Protocol):
    """Something the service starts and stops (a camera pipeline, a serial reader...)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


class GatewayService:
    """The running gateway: spool + uplink + producers + health + commands."""

    def __init__(self, config: GatewayConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # where the page saves zones (its overlay); None: nowhere
        # why the zones overlay was left out at start (overlay_left_out), until the page saves
        self.overlay_left_out_because: str | None = None
        # Recent events for the gateway page, only when the page is on (a bounded ring).
        self.recent: Any = None
        if config.web.enabled:
            from gateway.web.recent import RecentEvents

            self.recent = RecentEvents(config.web.recent_events)
        self.fmt = Format(config.mqtt.format)
        self.topics = Topics(config.device.id, config.mqtt.topic_prefix)
        sc = config.spool
        self.spool = Spool(sc.path, max_events=sc.max_events, max_bytes=sc.max_bytes,
                           max_age_s=sc.max_age_s, overflow=sc.overflow, sync=sc.sync)
        self.health = Health(disk_path=sc.path.parent)
        self.config_hash = config_hash(config)
        self.boot_ms = now_ms()
        self.router = CommandRouter(self.topics, self.fmt, self._send_direct)
        # Faults raised on threads that must not produce events themselves (the uplink's);
        # the supervisor turns them into device_fault events.
        self._faults: queue.SimpleQueue[DeviceFault] = queue.SimpleQueue()
        self.uplink = Uplink(config.mqtt, self.topics, self.spool,
                             state_payload=self._state_payload,
                             content_type=self.fmt.content_type, on_command=self.router.dispatch,
                             on_fault=self._uplink_fault)
        loc = config.device.location
        fixed = Location(loc.lat, loc.lon) if loc else None
        self.sensors: SensorsComponent | None = None
        # NTP, else GPS time (from the sensors' receiver), else the free-running clock.
        self.clock = TrustedClock(config.sensors.clock, lambda: (
            self.sensors.gps_time() if self.sensors is not None else None))
        self._clock_source = self.clock.source_name()
        self.producer = EventProducer(self.spool, self.topics, self.fmt, self.health.counters,
                                      location=lambda: self._location(fixed),
                                      timestamp=self.clock.stamp,
                                      on_stored=self.uplink.wake,
                                      observer=self.recent.add if self.recent is not None else None)
        self.components: list[Component] = []
        if config.demo.enabled:
            self.components.append(DemoSource(config.demo, self.producer))
        # The alert level is the site's: one controller for every camera and the state.
        self.levels = LevelController(config.site)
        self.levels.on_change = self._republish_state
        self.router.register("level", level_command(self.levels))
        self.clip_store = self._clip_store(config)
        self.cameras = [CameraComponent(name, cam, self.producer, self.health.counters,
                                        site=config.site, levels=self.levels,
                                        clip_store=self.clip_store)
                        for name, cam in config.cameras.items()]
        self.components.extend(self.cameras)
        sc = config.sensors
        if sc.node_links or sc.gps or sc.modbus:
            from gateway.service.sensors import SensorsComponent

            self.sensors = SensorsComponent(sc, self.producer)
            self.components.append(self.sensors)
            self.health.register("sensors", self.sensors.health)
        self.health.register("spool", self._spool_health)
        self.health.register("uplink", self._uplink_health)
        self.health.register("commands", self.router.health)
        if self.cameras:
            self.health.register("cameras", lambda: {c.name: c.health() for c in self.cameras})
            self.router.register("snapshot", self._snapshot)
        if self.clip_store is not None:
            from gateway.clips.commands import clip_command, clips_command

            self.router.register("clips", clips_command(self.clip_store))
            self.router.register("clip", clip_command(self.clip_store))
            self.health.register("clips", self.clip_store.health)
        self.router.register("health", lambda args: {"health": self.health.report(now_ms())})
        self.router.register("state", lambda args: self._state_doc(True))
        node_key = _node_key_command(config)
        if node_key is not None:  # node keys sealed for this gateway (provisioning/keychannel.py)
            self.router.register("node_key", node_key)
        if config.web.enabled:
            from gateway.web.server import WebServer

            self.web = WebServer(self, config.web)
            self.components.append(self.web)
        self.notifier = SystemdNotifier()
        self._stop = threading.Event()
        self._halt = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the uplink, every component and the supervisor; the broker need not be up."""
        self.spool.expire()
        self.uplink.start()
        self.report_faults()
        for component in self.components:
            component.start()
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor",
                                            daemon=True)
        self._supervisor.start()
        self.notifier.notify("READY=1")
        log.info("gateway %s started (config %s, %d event(s) in the spool)",
                 self.topics.device, self.config_hash, self.spool.stats().depth)

    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> None:
        """Start, wait until ``stop`` is set (or ``duration_s`` passed), then stop."""
        stop = stop or self._stop
        self.start()
        try:
            stop.wait(duration_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the components, then the uplink (which says offline), then close the spool."""
        self.notifier.notify("STOPPING=1")
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:  # one component failing to stop must not keep the spool open
                log.exception("stopping %s failed", type(component).__name__)
        if self.clip_store is not None:
            self.clip_store.close()
        self.uplink.stop()
        self.router.close()
        self.spool.close()

    def _supervise(self) -> None:
        """Publish health, expire old events, and feed the systemd watchdog."""
        interval = self.config.health.interval_s
        watchdog = self.notifier.watchdog_s
        tick = min(interval, watchdog / 3 if watchdog else interval, 1.0)
        next_health = time.monotonic() + min(interval, 2.0)
        next_expire = time.monotonic() + EXPIRE_EVERY_S
        while not self._halt.wait(tick):
            now = time.monotonic()
            # Feed the watchdog only while the uplink thread is alive and looping: a hung
            # uplink then gets the whole process restarted by systemd.
            if self.uplink.alive and now - self.uplink.heartbeat < max(5.0, 2 * tick):
                self.notifier.notify("WATCHDOG=1")
            self.spool.maintain()
            self.report_faults()
            self.watch_clock()
            if now >= next_health:
                next_health = now + interval
                self.publish_health()
            if now >= next_expire:
                next_expire = now + EXPIRE_EVERY_S
                self.spool.expire()
                if self.clip_store is not None:
                    self.clip_store.expire()

    # --- faults ---------------------------------------------------------------------------
    def overlay_left_out(self, why: str) -> None:
        """Report that the zones overlay was left out at start (config/loader.py,
        ``load_service_config``): logged, counted (``config.overlay_left_out``) and sent as a
        device_fault once the service starts."""
        self.overlay_left_out_because = why
        log.error("zones overlay left out: %s", why)
        self.health.counters.inc("config.overlay_left_out")
        self._faults.put(DeviceFault(component="config", code="overlay_left_out",
                                     severity=Severity.ERROR, message=why[:256]))

    def _uplink_fault(self, code: str, message: str) -> None:
        self._faults.put(DeviceFault(component="uplink", code=code, severity=Severity.ERROR,
                                     message=message[:256]))

    def watch_clock(self) -> None:
        """Report each clock jump once, and republish the retained state when the clock
        source changes (the state carries ``clock``)."""
        for jump in self.clock.take_jumps():
            self.producer.emit(DeviceFault(component="clock", code="clock_jump",
                                           severity=Severity.WARNING,
                                           message=jump.message()[:256]))
        source = self.clock.source_name()
        if source != self._clock_source:
            self._clock_source = source
            self._send_direct(self.topics.state, self._state_payload(True), qos=1, retain=True)

    def report_faults(self) -> None:
        """Turn queued spool and uplink faults into device_fault events.

        A fault about the disk goes out from memory: the disk cannot store it."""
        for fault in self.spool.take_faults():
            body = DeviceFault(component="spool", code=fault.code, severity=Severity.ERROR,
                               message=fault.message[:256])
            if fault.code in ("spool_corrupt", "spool_missing"):
                self._faults.put(body)
            else:
                self.producer.emit_from_memory(body)
        while True:
            try:
                body = self._faults.get_nowait()
            except queue.Empty:
                return
            if self.producer.emit(body) is None:
                try:
                    self.producer.emit_from_memory(body)
                except SpoolError:  # pragma: no cover - append_memory raises none today
                    log.error("could not send fault %s/%s", body.component, body.code)

    # --- messages ------------------------------------------------------------------------
    def publish_health(self) -> dict[str, Any]:
        """Publish one health report now (QoS 0: the next one replaces a lost one)."""
        doc = self.health.report(now_ms())
        self._send_direct(self.topics.health, dump_document(doc, self.fmt), qos=0)
        return doc

    def _location(self, fixed: Location | None) -> Location | None:
        """Where events happen: the GPS fix when there is one, else the configured place."""
        fix = self.sensors.location() if self.sensors is not None else None
        return fix or fixed

    def _snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        """``cmd/snapshot``: annotated JPEG of a camera's newest frame (``{"camera": name}``)."""
        name = args.get("camera", self.cameras[0].name)
        camera = next((c for c in self.cameras if c.name == name), None)
        if camera is None:
            raise ValueError(f"no camera {name!r}; cameras: {[c.name for c in self.cameras]}")
        jpeg = camera.pipeline.snapshot() if camera.pipeline is not None else None
        if jpeg is None:
            raise ValueError(f"camera {name!r} has no frame yet")
        return {"camera": name, "jpeg": jpeg}

    def swap_config(self, config: GatewayConfig) -> str:
        """Run with a new, validated configuration from now on (zones edited on the gateway
        page): cameras whose section changed get it live, the retained state says the new
        config hash. Returns that hash. ``ReconfigureError`` when a change needs a restart."""
        for camera in self.cameras:
            new = config.cameras.get(camera.name)
            if new is not None and new != camera.cfg:
                camera.reconfigure(new)
        self.config = config
        self.config_hash = config_hash(config)
        self._send_direct(self.topics.state, self._state_payload(True), qos=1, retain=True)
        log.info("configuration swapped live (config %s)", self.config_hash)
        return self.config_hash

    def _state_doc(self, online: bool) -> dict[str, Any]:
        return state_document(online, self.config_hash, self.boot_ms,
                              clock=self._clock_source, level=self.levels.state())

    def _republish_state(self) -> None:
        """The retained state again, now (the alert level changed)."""
        self._send_direct(self.topics.state, self._state_payload(True), qos=1, retain=True)

    def _clip_store(self, config: GatewayConfig) -> Any:
        """The clip store, when a camera keeps clips; it leaves the spool its room on disk."""
        if not any(cam.clips.enabled for cam in config.cameras.values()):
            return None
        from gateway.clips.store import ClipStore

        def reserve() -> int:
            return max(0, config.spool.max_bytes - self.spool.stats().bytes) \
                + config.clips.reserve_bytes

        folder = config.clips.path or config.spool.path.parent / "clips"
        return ClipStore(config.clips, folder, reserve=reserve)

    def _state_payload(self, online: bool) -> bytes:
        return dump_document(self._state_doc(online), self.fmt)

    def _send_direct(self, topic: str, payload: bytes, **kw: Any) -> None:
        self.uplink.send_direct(topic, payload, **kw)

    def _spool_health(self) -> dict[str, Any]:
        stats = self.spool.stats()
        doc = dataclasses.asdict(stats)
        doc["dropped"] = stats.dropped
        doc["oldest_age_s"] = (round((now_ms() - stats.oldest_ms) / 1000, 1)
                               if stats.oldest_ms else None)
        del doc["oldest_ms"]
        return doc

    def _uplink_health(self) -> dict[str, Any]:
        s = self.uplink.stats
        return {"connected": s.connected, "connects": s.connects,
                "connect_failures": s.connect_failures, "disconnects": s.disconnects,
                "published": s.published, "acked": s.acked, "rejected": s.rejected,
                "refused": s.refused,
                "in_flight": s.in_flight, "commands_ready": s.commands_ready,
                "last_error": s.last_error}


def _node_key_command(config: GatewayConfig) -> Any:
    """``cmd/node_key`` when this gateway has a TLS identity and node links (else None)."""
    try:
        from provisioning.keychannel import node_key_command
    except ImportError:  # a gateway installed without the provisioning package
        return None
    return node_key_command(config)

