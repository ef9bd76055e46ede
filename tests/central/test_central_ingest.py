"""The ingest against a real mosquitto, on both backends: once-only storage, quarantine, no blocking."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cbor2
import paho.mqtt.client as mqtt
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.decode import REASONS, EventRow, Quarantined, StatusDoc, classify
from central.ingest import IngestService
from central.store import Store
from gateway.broker import LocalMosquitto
from gateway.events import Event, Format, Topics, VehiclePassage, dump_document, encode


def publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling an observable condition with a deadline
    return False


def test_events_are_stored_once_and_bad_input_is_quarantined_without_blocking(
        broker: LocalMosquitto, store: Store, central_config: Callable[..., Any]) -> None:
    cfg = central_config(broker.port, store.url, ingest={"max_payload_bytes": 2048, "batch_wait_ms": 5})
    ingest = IngestService(cfg, store).start()
    assert ingest.subscribed.wait(10)
    pub = publisher(broker.port)
    t = Topics("gw-1")
    events = [Event.new(VehiclePassage(plate=f"京A{i:05d}")).with_seq(i) for i in range(1, 21)]
    for ev in events:
        for _ in range(2):  # every event twice: at-least-once delivery
            pub.publish(t.event(ev.type), encode(ev), qos=1).wait_for_publish(5)
    good = events[0]
    v99 = cbor2.dumps({0: 99, 1: good.id, 2: 99, 3: good.ts_ms, 4: 1, 6: {}}, canonical=True)
    bad = [
        (t.event(good.type), b"\xff\x00 not cbor"),  # undecodable
        (t.event(good.type), v99),  # unknown schema version
        ("edgepost/v1/gw-1/event/sensor_alarm", encode(good)),  # topic and payload disagree
        (t.event(good.type), b"\xa0" + b"\x00" * 4096),  # oversized
        (t.state, dump_document({"online": True, "device": "gw-2"}, Format.CBOR)),  # forged device
    ]
    for topic, payload in bad:
        pub.publish(topic, payload, qos=1).wait_for_publish(5)
    late = Event.new(VehiclePassage(plate="京A99999")).with_seq(21)
    pub.publish(t.event(late.type), encode(late), qos=1).wait_for_publish(5)
    try:
        assert wait(lambda: store.totals()["events"] == 21 and sum(ingest.quarantined.values()) == 5, 15), \
            (store.totals(), ingest.health())
        assert set(store.event_ids()) == {e.id for e in [*events, late]}
        assert store.totals()["quarantined"] == {"undecodable": 1, "unknown_schema_version": 1,
                                                 "type_mismatch": 1, "oversized": 1,
                                                 "device_mismatch": 1}
        assert wait(lambda: ingest.duplicates + ingest.stored == 41, 5), ingest.health()
        assert ingest.health()["database"]["ok"] and ingest.health()["backpressure"] is None
    finally:
        pub.disconnect()
        pub.loop_stop()
        ingest.stop()


def test_state_and_health_reach_the_fleet_and_the_lwt_turns_it_offline(
        broker: LocalMosquitto, store: Store, central_config: Callable[..., Any]) -> None:
    ingest = IngestService(central_config(broker.port, store.url), store).start()
    assert ingest.subscribed.wait(10)
    t = Topics("gw-lwt")
    dev = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-lwt", protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/cbor"
    dev.will_set(t.state, dump_document({"online": False}, Format.CBOR), qos=1, retain=True,
                 properties=props)
    dev.connect("127.0.0.1", broker.port)
    dev.loop_start()
    dev.publish(t.state, dump_document({"online": True, "versions": {"edgepost": "9.9"}}, Format.CBOR),
                qos=1, retain=True, properties=props).wait_for_publish(5)
    dev.publish(t.health, dump_document({"ts": 1, "spool": {"depth": 3, "dropped": 1}}, Format.CBOR),
                qos=0, properties=props).wait_for_publish(5)

    def fleet() -> dict[str, Any]:
        return {d["device"]: d for d in store.fleet()}.get("gw-lwt", {})

    try:
        assert wait(lambda: fleet().get("online") is True and fleet().get("spool_depth") == 3, 10), fleet()
        dev._sock.close()  # type: ignore[union-attr]  # die without DISCONNECT: the broker sends the LWT
        dev.loop_stop()
        assert wait(lambda: fleet().get("online") is False, 10), fleet()
        assert fleet()["version"] == "9.9" or fleet()["version"] is None
    finally:
        ingest.stop()


topics = st.one_of(st.text(max_size=80), st.sampled_from([
    "edgepost/v1/gw-1/event/vehicle_passage", "edgepost/v1/gw-1/state", "edgepost/v1/gw-1/health",
    "edgepost/v1/GW!/event/object", "edgepost/v1/gw-1/event/x/y", "other/topic"]))


@settings(max_examples=400, deadline=None)
@given(topic=topics, payload=st.binary(max_size=300),
       ctype=st.sampled_from([None, "application/cbor", "application/json", "text/plain"]))
def test_classify_never_raises_and_names_a_reason(topic: str, payload: bytes, ctype: str | None) -> None:
    c = classify(topic, payload, ctype, 1_800_000_000_000)
    assert isinstance(c, EventRow | Quarantined | StatusDoc)
    if isinstance(c, Quarantined):
        assert c.reason in REASONS and c.detail and len(c.head) <= 1024


@settings(max_examples=200, deadline=None)
@given(plate=st.text(min_size=1, max_size=16), zone=st.text(max_size=64))
def test_any_valid_text_in_an_event_can_be_stored_in_json(plate: str, zone: str) -> None:
    ev = Event.new(VehiclePassage(plate=plate, zone=zone)).with_seq(1)
    c = classify("edgepost/v1/gw-1/event/vehicle_passage", encode(ev), None, ev.ts_ms)
    assert isinstance(c, EventRow)
    assert "\x00" not in (c.plate or "") + c.body  # PostgreSQL text/jsonb can't hold NUL


def test_an_unreachable_broker_is_named_in_the_log_and_health(
        store: Store, central_config: Callable[..., Any], caplog: Any) -> None:
    # found by probing (session 42): `central run` printed its start line and then said nothing
    # while paho retried a broker that was not there
    import logging

    from gateway.broker import free_port

    port = free_port()  # nothing listens there
    caplog.set_level(logging.ERROR, logger="central.ingest")
    ingest = IngestService(central_config(port, store.url), store).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not ingest.health()["broker_failures"]:
            time.sleep(0.05)  # paho's first attempt, with a deadline
        h = ingest.health()
        assert h["broker_failures"] >= 1 and not h["broker_connected"]
        assert f"nothing is listening on port {port}" in h["broker_error"]
        assert any(f"cannot connect to the broker at 127.0.0.1:{port}" in r.getMessage()
                   for r in caplog.records)
    finally:
        ingest.stop()
