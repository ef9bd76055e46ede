"""A panic press on a sleeping node reaches the broker as a panic sensor_alarm within the
alarm bound, once, although the node sends it three times with one sequence number."""

from __future__ import annotations

import time

import pytest

from gateway.events import AlarmKind, AlarmState, Location

COPIES = 3  # firmware/epnode/cycle.py PANIC_SENDS


def test_panic_press_reaches_the_broker_in_time(rig, node, gateway, events, strategy,
                                                record_property: pytest.RecordProperty) -> None:
    if "panic" not in node.spec.sensors:
        pytest.skip(f"node {node.name} has no panic button on this rig (add 'panic' to its "
                    "sensors in the rig file)")
    bound = rig.spec.timing.alarm_latency_s
    strategy.transition("node_asleep")  # booted, first cycle done: the node is in deep sleep
    since = events.mark()

    t0 = time.monotonic()
    node.set_input("panic", 1)  # the press wakes the node (a wake pin), debounced there
    tx = node.expect(r"^TX type=2 seq=(\d+)", bound)
    got = events.expect("sensor_alarm", within=bound, since=since, node=node.name,
                        kind=AlarmKind.PANIC, state=AlarmState.ACTIVE)
    latency = time.monotonic() - t0
    record_property("panic_latency_s", round(latency, 3))
    assert latency <= bound, f"panic took {latency:.2f} s (bound {bound} s)"
    seq = int(tx.group(1))
    assert got.event.body.node_seq == seq, "event does not trace to the node frame"
    assert got.device == gateway.device_id
    if node.spec.position is not None:
        assert got.event.loc == Location(*node.spec.position), "panic must say where the node is"

    # The copies went out with the same seq, and the gateway's replay window dropped them.
    for _ in range(COPIES - 1):
        node.expect(rf"^TX type=2 seq={seq} ", 10)
    link = f"nodelink:{node.name}"
    events.expect_health(lambda h: h["sensors"][link].get("repeats", 0) >= COPIES - 1,
                         within=10, what="the node's panic copies counted as repeats",
                         since=since)
    node.set_input("panic", 0)  # released: nothing is sent for a release
    panics = [m for m in events.events("sensor_alarm")
              if m.event.body.kind == AlarmKind.PANIC]
    assert len(panics) == 1, f"one panic event expected, got {len(panics)}"
