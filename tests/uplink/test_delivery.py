"""End-to-end delivery through a real mosquitto: outages, overflow, refusals, commands."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.broker import LocalMosquitto
from gateway.events import SenMLRecord, SensorReadings, VehiclePassage
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config

N = 10_000


def body(i: int) -> VehiclePassage:
    return VehiclePassage(plate=f"京A{i % 100000:05d}", plate_conf=0.9, track_id=i)


def produce(service: GatewayService, n: int, batch: int = 500) -> list[int]:
    seqs: list[int] = []
    for start in range(0, n, batch):
        out = service.producer.emit_many([body(i) for i in range(start, min(n, start + batch))])
        seqs += [e.seq for e in out if e is not None]
    return seqs


def test_broker_outage_10000_events_arrive_in_order_exactly_once(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    # A persistent subscriber session keeps its subscription across the broker restart,
    # as a central consumer would.
    sub = Collector(broker.port, client_id="central-1", session_expiry_s=3600).start()
    broker.stop()
    service = GatewayService(make_config(tmp_path, broker.port))
    service.start()  # the broker is down at boot: the gateway must start and spool anyway
    try:
        seqs = produce(service, N)
        assert seqs == list(range(1, N + 1))
        assert service.spool.stats().depth == N
        assert not service.uplink.stats.connected
        broker.start()
        assert sub.wait_for(lambda c: len(c.events) >= N, timeout=120), (
            f"only {len(sub.events)} of {N} arrived; uplink {service.uplink.stats}")
        got = [m.event.seq for m in sub.events]
        assert got == list(range(1, N + 1))  # in order, nothing missing, no duplicate left
        assert not sub.of_kind("gap")
        deadline = time.monotonic() + 10
        while service.spool.stats().depth and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.spool.stats().depth == 0
    finally:
        service.stop()
        sub.stop()


def test_spool_overflow_is_counted_in_health(broker: LocalMosquitto, tmp_path: Path) -> None:
    sub = Collector(broker.port, client_id="central-2", session_expiry_s=3600,
                    include_status=True).start()
    broker.stop()
    cfg = make_config(tmp_path, broker.port, spool={"max_events": 1000})
    service = GatewayService(cfg)
    service.start()
    try:
        produce(service, 3000)
        report = service.health.report(0)
        assert report["spool"]["dropped"] == 2000 and report["spool"]["dropped_overflow"] == 2000
        assert report["spool"]["depth"] == 1000
        broker.start()
        assert sub.wait_for(lambda c: len(c.events) >= 1000, timeout=60)
        time.sleep(0.5)
        assert [m.event.seq for m in sub.events] == list(range(2001, 3001))
        assert not sub.of_kind("gap")  # first sight of this device: no baseline yet
        # The health message on the wire carries the same figure.
        assert sub.wait_for(lambda c: any(m.document["spool"]["acked"] == 1000
                                          for m in c.of_kind("health")), timeout=10)
        health = [m.document for m in sub.of_kind("health") if m.document["spool"]["acked"] == 1000]
        assert health[-1]["spool"]["dropped"] == 2000
    finally:
        service.stop()
        sub.stop()


def test_overflow_keeps_alarms_over_readings(broker: LocalMosquitto, tmp_path: Path) -> None:
    from gateway.events import AlarmKind, AlarmState, SensorAlarm

    broker.stop()
    service = GatewayService(make_config(tmp_path, broker.port, spool={"max_events": 10}))
    service.start()
    try:
        reading = SensorReadings(node="n1", records=(SenMLRecord(n="t", v=1.0),))
        alarm = SensorAlarm(node="n1", kind=AlarmKind.SMOKE, state=AlarmState.ACTIVE)
        service.producer.emit_many([alarm] * 3 + [reading] * 20 + [alarm] * 2)
        kept = [e.topic.rsplit("/", 1)[-1] for e in service.spool.read_after(0, 100)]
        assert kept.count("sensor_alarm") == 5 and kept.count("sensor_readings") == 5
    finally:
        service.stop()


def test_broker_refusal_keeps_events_until_the_acl_is_fixed(tmp_path: Path) -> None:
    """A gateway started before its account is in the ACL loses nothing (issue 10, item 6):
    refused events stay in the spool, one not_authorized fault is raised, sending backs off,
    and everything arrives once the broker is told about the fixed ACL (SIGHUP)."""
    acl = tmp_path / "acl"
    acl.write_text("topic write edgepost/v1/gw-demo/state\ntopic write edgepost/v1/gw-demo/health\n"
                   "topic read edgepost/v1/#\n")
    with LocalMosquitto(extra_conf=f"acl_file {acl}") as broker:
        sub = Collector(broker.port, client_id="central-1").start()
        service = GatewayService(make_config(tmp_path, broker.port))
        service.start()
        try:
            produce(service, 20, batch=20)
            deadline = time.monotonic() + 10
            while service.uplink.stats.refused < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert service.uplink.stats.refused >= 3, service.uplink.stats  # retried
            st = service.spool.stats()
            assert st.rejected == 0 and st.dropped == 0, st
            assert st.depth >= 20, "refused events are kept, not deleted"
            # (mosquitto 2.0.11 also drops a v5 client's connection after a denied publish;
            # the uplink reconnects and keeps backing off from the refusal itself.)
            acl.write_text("topic write edgepost/v1/gw-demo/#\ntopic read edgepost/v1/#\n")
            broker.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
            assert sub.wait_for(lambda c: len(c.events) >= 21, 20), len(sub.events)
            kinds = [m.event.type.name for m in sub.events if m.event]
            faults = [m.event.body for m in sub.events
                      if m.event and m.event.type.name == "DEVICE_FAULT"]
            assert kinds.count("VEHICLE_PASSAGE") == 20
            assert [(f.component, f.code) for f in faults] == [("uplink", "not_authorized")]
            assert "ACL" in (faults[0].message or "")
            assert service.spool.stats().rejected == 0
        finally:
            service.stop()
            sub.stop()


def test_state_birth_and_clean_offline(broker: LocalMosquitto, tmp_path: Path,
                                       collect: object) -> None:
    service = GatewayService(make_config(tmp_path, broker.port))
    service.start()
    sub = collect(include_status=True)  # type: ignore[operator]
    assert sub.wait_for(lambda c: any(m.document["online"] for m in c.of_kind("state")), 10)
    state = sub.of_kind("state")[-1].document
    assert state["config_hash"] == service.config_hash and state["versions"]["edgepost"]
    service.stop()
    assert sub.wait_for(lambda c: not c.of_kind("state")[-1].document["online"], 10)


def test_command_reply_echoes_correlation(broker: LocalMosquitto, tmp_path: Path) -> None:
    service = GatewayService(make_config(tmp_path, broker.port))
    service.start()
    replies: list[mqtt.MQTTMessage] = []
    got = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        replies.append(msg)
        got.set()

    subscribed = threading.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.subscribe("edgepost/v1/gw-demo/reply/#", qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(10)
        # Commands are not queued for a gateway (clean session): send once it subscribed.
        deadline = time.monotonic() + 10
        while not service.uplink.stats.commands_ready and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.uplink.stats.commands_ready
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = uuid.uuid4().bytes
        client.publish("edgepost/v1/gw-demo/cmd/ping", b"", qos=1, properties=props)
        assert got.wait(10)
        from gateway.events import Format, load_document

        doc = load_document(replies[0].payload, Format.CBOR)
        assert doc["ok"] and doc["pong"]
        assert replies[0].properties.CorrelationData == props.CorrelationData
        assert replies[0].topic == "edgepost/v1/gw-demo/reply/ping"
    finally:
        client.loop_stop()
        client.disconnect()
        service.stop()


def test_overflow_while_connected_keeps_the_books(broker: LocalMosquitto, tmp_path: Path) -> None:
    """Producing much faster than the link drains: every event is either delivered or counted
    as dropped, never both and never neither (events already on the wire are not dropped)."""
    window = 4
    sub = Collector(broker.port)
    sub.start()
    cfg = make_config(tmp_path, broker.port, spool={"max_events": 20, "sync": "normal"},
                      mqtt={"window": window})
    service = GatewayService(cfg)
    service.start()
    try:
        deadline = time.monotonic() + 10
        while not service.uplink.stats.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        produced = len(produce(service, 20_000, batch=200))
        deadline = time.monotonic() + 30
        while service.spool.stats().depth and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        dropped = service.spool.stats().dropped
        received = len(sub.events)
        assert dropped > 0 and received > 0
        assert received + dropped == produced, (produced, received, dropped)
        seqs = [m.event.seq for m in sub.events]
        assert seqs == sorted(seqs)  # what arrives still arrives in order (one lane)
        # The subscriber names exactly the dropped numbers as lost once the gateway's health
        # says nothing older waits (and not before: reordering is not loss).
        # Numbers below the first one received are unknown to a subscriber that never saw
        # this device before (no baseline), so they are not in its gaps.
        unseen_before = seqs[0] - 1
        service.publish_health()
        assert sub.wait_for(lambda c: sum(m.gap.count for m in c.of_kind("gap"))
                            + unseen_before >= dropped, 10), (dropped, unseen_before, seqs[:5])
        assert sum(m.gap.count for m in sub.of_kind("gap")) + unseen_before == dropped
    finally:
        service.stop()
        sub.stop()
