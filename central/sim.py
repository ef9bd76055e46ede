"""A district of synthetic gateways for load tests: ``edgepost sim district``.

Why not real gateways: 300 gateway processes (cameras, spools) don't fit on one machine, and
the centre only sees the protocol. Each simulated gateway is a lightweight MQTT 5 client that
speaks the real protocol: its own topics, CBOR events from :mod:`gateway.events` with
per-device sequence numbers, a retained state with an LWT, periodic health documents with
spool figures. A few worker threads drive all the clients through paho's external-loop API
(one selector per worker), so hundreds of gateways cost a few threads, not hundreds.

Outages: a chosen share of the gateways drop their connection abruptly (the broker publishes
their LWT), keep producing into an in-memory backlog (their "spool") and, on reconnecting,
send alarms first and then the backlog as a burst, as a real gateway does.

Contract: the simulator records every event it generated and every PUBACK; at the end it
waits (bounded) until every generated event is acknowledged, and reports both, so a test can
prove that the centre stored exactly what the broker acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import random
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events import (
    AlarmKind,
    AlarmState,
    Direction,
    Event,
    Format,
    Location,
    ObjectEvent,
    Phase,
    PlateColour,
    SenMLRecord,
    SensorAlarm,
    SensorReadings,
    Topics,
    VehiclePassage,
    ZoneIntrusion,
    dump_document,
    encode,
)
from gateway.events.bodies import PRIORITY_HIGH, body_priority

log = logging.getLogger(__name__)

MISC_EVERY_S = 1.0  # keepalive bookkeeping per client (paho's loop_misc)
RECONNECT_AFTER_S = 0.5  # a gateway whose connection dropped (not an outage) tries again this soon
WINDOW = 32  # in-flight QoS 1 events per gateway, as the real uplink's default window
CONTENT = Properties(PacketTypes.PUBLISH)
CONTENT.ContentType = Format.CBOR.content_type


@dataclass(frozen=True)
class DistrictPlan:
    """What to simulate."""

    gateways: int = 300
    rate: float = 700.0  # events/s, all gateways together
    duration_s: float = 30.0
    health_interval_s: float = 10.0
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "edgepost/v1"
    workers: int = 4
    outage_share: float = 0.0  # share of gateways that drop off once
    outage_at_s: float = 10.0
    outage_s: float = 5.0
    plates: int = 2000  # size of the plate pool (small enough for repeat passages = trajectories)
    alarm_share: float = 0.02  # zone intrusions and sensor alarms among the events
    device_prefix: str = "sim"
    seed: int = 1


@dataclass
class SimReport:
    """What the district did."""

    generated: int = 0
    acked: int = 0
    rejected: int = 0
    duration_s: float = 0.0
    outages: int = 0
    reconnects: int = 0
    health_sent: int = 0
    acked_ids: set[bytes] = field(default_factory=set)
    last_seq: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Events generated per second over the run."""
        return self.generated / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict[str, Any]:
        """Plain figures (no ids) for printing."""
        return {"generated": self.generated, "acked": self.acked, "rejected": self.rejected,
                "duration_s": round(self.duration_s, 2), "rate": round(self.rate, 1),
                "outages": self.outages, "reconnects": self.reconnects,
                "health_sent": self.health_sent, "gateways": len(self.last_seq)}


class SimGateway:
    """One synthetic gateway: a paho client driven by a worker's selector."""

    def __init__(self, device: str, plan: DistrictPlan, loc: Location, rng: random.Random,
                 plates: list[str], report: SimReport, lock: threading.Lock) -> None:
        self.device, self.plan, self.loc, self.rng = device, plan, loc, rng
        self.plates, self.report, self.lock = plates, report, lock
        self.topics = Topics(device, plan.prefix)
        self.seq = 0
        self.boot_ms = _now_ms()
        self.backlog: deque[Event] = deque()  # generated while offline: the gateway's spool
        self.in_flight: dict[int, bytes] = {}  # mid -> event id
        self.connected = False
        self.offline_until = 0.0  # monotonic end of an outage
        self.retry_at = 0.0
        self.next_health = time.monotonic() + rng.uniform(0, plan.health_interval_s)
        self.sock: socket.socket | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device,
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(WINDOW)
        self.client.max_queued_messages_set(0)
        self.client.will_set(self.topics.state, self._state(False), qos=1, retain=True,
                             properties=CONTENT)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish

    def _state(self, online: bool) -> bytes:
        return dump_document({"online": online, "ts": _now_ms(), "boot_ts": self.boot_ms,
                              "versions": {"edgepost": "sim", "schema": "1"},
                              "config_hash": "5151515151515151"}, Format.CBOR)

    def connect(self) -> socket.socket | None:
        """Open the TCP connection (CONNACK arrives through the selector)."""
        try:
            if self.sock is None and not self.client.is_connected():
                self.client.connect(self.plan.host, self.plan.port, keepalive=30, clean_start=True)
            else:
                self.client.reconnect()
        except OSError:
            self.retry_at = time.monotonic() + RECONNECT_AFTER_S
            return None
        self.sock = self.client.socket()  # type: ignore[assignment]
        return self.sock

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            return
        self.connected = True
        client.publish(self.topics.state, self._state(True), qos=1, retain=True, properties=CONTENT)
        # Alarms first, then the backlog in sequence order: a real gateway sends high-priority
        # events ahead of its spool, so the centre sees sequence numbers out of order.
        high = [e for e in self.backlog if body_priority(e.body) >= PRIORITY_HIGH]
        rest = [e for e in self.backlog if body_priority(e.body) < PRIORITY_HIGH]
        self.backlog.clear()
        for ev in high + rest:
            self._publish(ev)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        event_id = self.in_flight.pop(mid, None)
        if event_id is None:
            return  # the state document
        with self.lock:
            if reason.is_failure:
                self.report.rejected += 1
            else:
                self.report.acked += 1
                self.report.acked_ids.add(event_id)

    def _publish(self, ev: Event) -> None:
        info = self.client.publish(self.topics.event(ev.type), encode(ev), qos=1, properties=CONTENT)
        self.in_flight[info.mid] = ev.id

    def emit(self) -> None:
        """Produce one event (sent now, or kept in the backlog while offline)."""
        self.seq += 1
        ev = self._event().with_seq(self.seq)
        with self.lock:
            self.report.generated += 1
            self.report.last_seq[self.device] = self.seq
        if self.connected:
            self._publish(ev)
        else:
            self.backlog.append(ev)

    def _event(self) -> Event:
        r = self.rng.random()
        share = self.plan.alarm_share
        if r < share / 2:
            body: Any = ZoneIntrusion(zone="shore", cls="person", track_id=self.seq, conf=0.8)
        elif r < share:
            body = SensorAlarm(node=f"n{self.rng.randint(1, 9)}", kind=AlarmKind.PIR,
                               state=AlarmState.ACTIVE, sensor="pir")
        elif r < 0.10:
            body = ObjectEvent(phase=Phase.ENTER, cls="person", track_id=self.seq, conf=0.7)
        elif r < 0.14:
            body = SensorReadings(node="n1", records=(SenMLRecord(n="temp", u="Cel",
                                                                  v=round(self.rng.uniform(5, 30), 2)),))
        else:
            body = VehiclePassage(plate=self.rng.choice(self.plates), plate_conf=0.93,
                                  plate_colour=PlateColour.BLUE,
                                  direction=self.rng.choice((Direction.INBOUND, Direction.OUTBOUND)),
                                  vehicle_class=self.rng.choice(("car", "car", "car", "truck", "bus")),
                                  zone="lane-1", camera="cam-1")
        return Event.new(body, loc=self.loc)

    def health(self) -> None:
        """Publish a health document (QoS 0) with the spool figures a real gateway reports."""
        doc = {"ts": _now_ms(), "uptime_s": round((_now_ms() - self.boot_ms) / 1000, 1),
               "spool": {"depth": len(self.backlog) + len(self.in_flight), "last_seq": self.seq,
                         "dropped": 0, "dropped_overflow": 0, "dropped_refused": 0,
                         "dropped_expired": 0},
               "uplink": {"connected": self.connected, "in_flight": len(self.in_flight)}}
        self.client.publish(self.topics.health, dump_document(doc, Format.CBOR), qos=0,
                            properties=CONTENT)
        with self.lock:
            self.report.health_sent += 1

    def drop(self, outage_s: float) -> None:
        """Lose the connection abruptly (no DISCONNECT: the broker publishes the LWT)."""
        self.connected = False
        self.offline_until = time.monotonic() + outage_s
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Clean stop: offline state published, then DISCONNECT (no LWT)."""
        if self.connected:
            self.client.publish(self.topics.state, self._state(False), qos=1, retain=True,
                                properties=CONTENT)
            self.client.loop_write()
            self.client.disconnect()


class _Worker(threading.Thread):
    """Drives a share of the gateways: emits at its share of the rate, reads, writes, reconnects."""

    def __init__(self, gateways: list[SimGateway], rate: float, plan: DistrictPlan,
                 stop: threading.Event, outage: set[str], report: SimReport, lock: threading.Lock,
                 idx: int) -> None:
        super().__init__(name=f"sim-worker-{idx}", daemon=True)
        self.gateways, self.rate, self.plan, self.stop_flag = gateways, rate, plan, stop
        self.outage, self.report, self.lock = outage, report, lock
        self.sel = selectors.DefaultSelector()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.start_at = 0.0
        self.end_at = 0.0

    def _register(self, g: SimGateway) -> None:
        sock = g.connect()
        if sock is not None:
            self.sel.register(sock, selectors.EVENT_READ, g)

    def _lost(self, g: SimGateway) -> None:
        if g.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(g.sock)
        g.connected = False
        g.sock = None
        g.retry_at = max(g.offline_until, time.monotonic() + RECONNECT_AFTER_S)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported to the caller, who fails the run
            self.error = exc
            self.ready.set()

    def _run(self) -> None:
        for g in self.gateways:
            self._register(g)
        self.ready.set()
        while self.start_at == 0.0 and not self.stop_flag.is_set():
            self._pump(0.01)
        interval = 1.0 / self.rate if self.rate > 0 else float("inf")
        next_emit = self.start_at
        next_misc = time.monotonic() + MISC_EVERY_S
        outage_at = self.start_at + self.plan.outage_at_s
        outage_done = not self.outage
        i = 0
        while not self.stop_flag.is_set():
            now = time.monotonic()
            while next_emit <= now and next_emit < self.end_at:
                self.gateways[i % len(self.gateways)].emit()
                i += 1
                next_emit += interval
            if not outage_done and now >= outage_at:
                outage_done = True
                for g in self.gateways:
                    if g.device in self.outage:
                        g.drop(self.plan.outage_s)
                        with self.lock:
                            self.report.outages += 1
            for g in self.gateways:
                if now >= g.next_health and now < self.end_at:
                    g.next_health += self.plan.health_interval_s
                    if g.connected:
                        g.health()
                if g.sock is None and now >= g.retry_at and now >= g.offline_until:
                    self._register(g)
                    with self.lock:
                        self.report.reconnects += 1
                elif (g.sock is not None and g.client.want_write()
                      and g.client.loop_write() != mqtt.MQTT_ERR_SUCCESS):
                    self._lost(g)
            if now >= next_misc:
                next_misc = now + MISC_EVERY_S
                for g in self.gateways:
                    if g.sock is not None:
                        g.client.loop_misc()
            wait = min(max(next_emit - time.monotonic(), 0.0), 0.05)
            self._pump(wait)

    def _pump(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            g: SimGateway = key.data
            if g.client.loop_read() != mqtt.MQTT_ERR_SUCCESS or (g.sock is not None and
                                                                 g.client.socket() is None):
                self._lost(g)


class District:
    """Runs a :class:`DistrictPlan`: connect all, produce for ``duration_s``, drain, stop."""

    def __init__(self, plan: DistrictPlan) -> None:
        self.plan = plan
        self.report = SimReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        rng = random.Random(plan.seed)
        plates = [f"浙A{rng.randint(0, 99999):05d}" for _ in range(plan.plates)]
        side = max(1, int(plan.gateways ** 0.5))
        self.gateways = [
            SimGateway(f"{plan.device_prefix}-{n:04d}", plan,
                       Location(30.0 + (n // side) * 0.01, 120.0 + (n % side) * 0.01),
                       random.Random(plan.seed * 100_003 + n), plates, self.report, self._lock)
            for n in range(plan.gateways)]
        out_n = round(plan.gateways * plan.outage_share)
        self.outage = {g.device for g in rng.sample(self.gateways, out_n)} if out_n else set()
        workers = max(1, min(plan.workers, plan.gateways))
        shares = [self.gateways[w::workers] for w in range(workers)]
        self.workers = [_Worker(s, plan.rate * len(s) / plan.gateways, plan, self._stop, self.outage,
                                self.report, self._lock, w) for w, s in enumerate(shares)]

    def run(self, drain_timeout_s: float = 60.0,
            on_tick: Callable[[float], None] | None = None) -> SimReport:
        """Run the plan; ``on_tick(elapsed_s)`` is called about every 0.1 s (fault injection)."""
        for w in self.workers:
            w.start()
        for w in self.workers:
            w.ready.wait(60)
            if w.error is not None:
                raise w.error
        start = time.monotonic() + 0.2
        for w in self.workers:
            w.end_at = start + self.plan.duration_s
            w.start_at = start
        try:
            while time.monotonic() < start + self.plan.duration_s:
                if on_tick is not None:
                    on_tick(time.monotonic() - start)
                time.sleep(0.1)  # the producing is done by the workers; this only paces on_tick
            self.report.duration_s = time.monotonic() - start
            deadline = time.monotonic() + drain_timeout_s
            while time.monotonic() < deadline:
                with self._lock:
                    if self.report.acked + self.report.rejected >= self.report.generated:
                        break
                if on_tick is not None:
                    on_tick(time.monotonic() - start)
                time.sleep(0.1)
        finally:
            self._stop.set()
            for w in self.workers:
                w.join(10)
            for g in self.gateways:
                with contextlib.suppress(OSError):
                    g.stop()
        for w in self.workers:
            if w.error is not None:
                raise w.error
        return self.report


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
