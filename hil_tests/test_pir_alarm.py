"""A PIR alarm on a node reaches the broker as a sensor_alarm event within a time bound."""

from __future__ import annotations

import time

import pytest

from gateway.events import AlarmKind, AlarmState


def test_pir_alarm_reaches_the_broker_in_time(rig, node, gateway, events, strategy,
                                              record_property: pytest.RecordProperty) -> None:
    bound = rig.spec.timing.alarm_latency_s
    strategy.transition("node_asleep")  # booted, first cycle done: the node is in deep sleep
    since = events.mark()

    t0 = time.monotonic()
    node.set_input("pir", 1)
    # (the edge wakes the node from deep sleep, or the next timer wake sees it)
    tx = node.expect(r"^TX type=2 seq=(\d+)", bound)
    got = events.expect("sensor_alarm", within=bound, since=since, node=node.name,
                        kind=AlarmKind.PIR, state=AlarmState.ACTIVE)
    latency = time.monotonic() - t0
    record_property("pir_alarm_latency_s", round(latency, 3))
    assert latency <= bound, f"PIR alarm took {latency:.2f} s (bound {bound} s)"
    assert got.event.body.node_seq == int(tx.group(1)), "event does not trace to the node frame"
    assert got.device == gateway.device_id

    # Cleared when the input goes back (the node reports the edge at its next wake).
    node.set_input("pir", 0)
    events.expect("sensor_alarm", within=bound + 2, since=since, node=node.name,
                  kind=AlarmKind.PIR, state=AlarmState.CLEARED)
    pir = [m for m in events.events("sensor_alarm") if m.event.body.kind == AlarmKind.PIR]
    assert [m.event.body.state for m in pir] == [AlarmState.ACTIVE, AlarmState.CLEARED], \
        "one raise and one clear expected, no repeats"
