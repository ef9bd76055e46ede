"""A subscriber's persistent session survives 30 s offline at 1,000 events/s on the site broker.

mosquitto's default queue (1,000 messages per session) would drop all but the first second
of the outage; the generated config sizes the queue (provisioning/broker_config.py). The
broker runs the generated edgepost.conf as is, TLS and ACL included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from gateway.broker import LocalMosquitto
from tests.provisioning.brokerkit import Client, broker_on_generated_conf
from tests.provisioning.conftest import run_provision

OUTAGE_S = 30
RATE_PER_S = 1000
GATEWAYS = ("gw-a", "gw-b")
TICK_S = 0.01  # publish in 10 ms batches: paces the rate without a thread per message


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    for gw in GATEWAYS:
        assert run_provision(site, "gateway", gw, "--broker-host", "127.0.0.1") == 0
    assert run_provision(site, "subscriber", "central-1") == 0
    return site


@pytest.fixture
def broker(site: Path, tmp_path: Path) -> Iterator[LocalMosquitto]:
    b = broker_on_generated_conf(site, tmp_path / "mosq", log_all=False).start()
    yield b
    b.close()


class PacedPublisher(threading.Thread):
    """One gateway publishing ``n`` numbered QoS 1 events at ``rate`` per second."""

    def __init__(self, site: Path, port: int, name: str, n: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.name_, self.n, self.rate = name, n, rate
        d = site / "gateways" / name
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        self.c.tls_set(ca_certs=str(d / "ca.pem"), certfile=str(d / f"{name}.pem"),
                       keyfile=str(d / f"{name}.key"))
        self.c.max_inflight_messages_set(1000)
        self.c.max_queued_messages_set(0)
        self.ok = 0
        self.failed: list[ReasonCode] = []
        self.connected = threading.Event()
        self.all_acked = threading.Event()
        self._lock = threading.Lock()
        self.c.on_connect = lambda c, u, f, rc, p: None if rc.is_failure else self.connected.set()
        self.c.on_publish = self._on_publish
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_publish(self, c: object, u: object, mid: int, rc: ReasonCode, p: object) -> None:
        with self._lock:
            if rc.is_failure:
                self.failed.append(rc)
            else:
                self.ok += 1
            if self.ok + len(self.failed) == self.n:
                self.all_acked.set()

    def run(self) -> None:
        start = time.monotonic()
        per_tick = max(1, round(self.rate * TICK_S))
        pacer = threading.Event()  # never set: its wait() is the pacing delay, not a sync wait
        for i in range(self.n):
            self.c.publish(f"edgepost/v1/{self.name_}/event/reading", f"{self.name_}:{i}".encode(), qos=1)
            if (i + 1) % per_tick == 0:
                pacer.wait(max(0.0, start + (i + 1) / self.rate - time.monotonic()))

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.mark.slow
def test_persistent_subscriber_down_30s_at_1000_per_s_loses_nothing(
        site: Path, broker: LocalMosquitto) -> None:
    per_gw = OUTAGE_S * RATE_PER_S // len(GATEWAYS)
    expected = {f"{gw}:{i}".encode() for gw in GATEWAYS for i in range(per_gw)}
    sub = Client(site, broker.port, "central-1", "subscribers", client_id="central-1")
    assert sub.connect(clean_start=False, session_expiry_s=3600)
    sub.subscribe("edgepost/v1/+/event/#")
    sub.close()  # down, its session (and subscription) stays at the broker
    pubs = [PacedPublisher(site, broker.port, gw, per_gw, RATE_PER_S / len(GATEWAYS))
            for gw in GATEWAYS]
    try:
        for p in pubs:
            assert p.connected.wait(10), broker.log_text()[-2000:]
        t0 = time.monotonic()
        for p in pubs:
            p.start()
        for p in pubs:
            assert p.all_acked.wait(OUTAGE_S + 60), f"{p.name_}: {p.ok}/{p.n} acknowledged"
            assert not p.failed, p.failed[:5]
        outage_s = time.monotonic() - t0
        assert outage_s >= OUTAGE_S * 0.95, f"published too fast ({outage_s:.1f} s)"
        back = Client(site, broker.port, "central-1", "subscribers", client_id="central-1")
        assert back.connect(clean_start=False, session_expiry_s=3600)
        try:
            got = back.wait_messages(len(expected), timeout=120)
            received = {m.payload for m in back.messages}
            missing = expected - received
            assert got and not missing, (f"{len(missing)} of {len(expected)} events lost while the "
                                         f"subscriber was down {outage_s:.0f} s")
        finally:
            back.close()
    finally:
        for p in pubs:
            p.close()
