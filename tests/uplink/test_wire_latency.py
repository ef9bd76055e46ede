"""Spool-to-wire latency (issue 16): an event produced while the uplink is idle goes out at
once (wake-up socket in the uplink's select), not at its next poll; the uplink's socket has
TCP_NODELAY so small PUBLISH packets are not held back by Nagle's algorithm."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from gateway.broker import LocalMosquitto
from gateway.events import SensorAlarm
from gateway.events.types import AlarmKind, AlarmState
from gateway.service.gateway import GatewayService
from gateway.uplink.publisher import IDLE_POLL_S
from tests.conftest import make_config

N = 30


class Arrivals:
    """A bare paho subscriber that records when each event reached it."""

    def __init__(self, port: int) -> None:
        self.times: list[float] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="arrivals",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        result, _mid = self.client.subscribe("edgepost/v1/+/event/#", qos=0)
        assert result == mqtt.MQTT_ERR_SUCCESS
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.loop_start()
        assert subscribed.wait(10), "test subscriber could not subscribe"

    def _on(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.times.append(time.monotonic())
            self._cond.notify_all()

    def wait(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.times) >= count, timeout)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.001)
    return False


def test_event_produced_while_idle_is_sent_at_once(broker: LocalMosquitto,
                                                   tmp_path: Path) -> None:
    service = GatewayService(make_config(tmp_path, broker.port, spool={"sync": "normal"},
                                         health={"interval_s": 60}))
    arrivals = Arrivals(broker.port)
    service.start()
    try:
        assert wait_until(lambda: service.uplink.stats.connected, 10), service.uplink.stats
        latencies: list[float] = []
        for i in range(N):
            # The previous event is acknowledged: the uplink has nothing to do and waits.
            assert wait_until(lambda i=i: service.uplink.stats.acked >= i, 5)
            ev = service.producer.emit(SensorAlarm(node="node-01", kind=AlarmKind.PIR,
                                                   state=AlarmState.ACTIVE, node_seq=i))
            committed = time.monotonic()
            assert ev is not None
            assert arrivals.wait(i + 1, 5), f"event {i} never arrived"
            latencies.append((arrivals.times[i] - committed) * 1000)
        p50 = statistics.median(latencies)
        # Without the wake-up the event waits for the next poll: IDLE_POLL_S / 2 on average.
        assert p50 < min(20.0, IDLE_POLL_S * 1000 / 4), (
            f"commit -> subscriber p50 {p50:.1f} ms: new events wait for the uplink's poll")
    finally:
        service.stop()
        arrivals.stop()


def test_uplink_socket_has_tcp_nodelay(broker: LocalMosquitto, tmp_path: Path) -> None:
    service = GatewayService(make_config(tmp_path, broker.port))
    service.start()
    try:
        assert wait_until(lambda: service.uplink.stats.connected, 10), service.uplink.stats
        client = service.uplink._client  # the uplink thread's own connection
        assert client is not None
        sock = client.socket()
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        service.stop()
