"""A broker outage of at least 60 s under traffic: no loss, order kept, backlog drains."""

from __future__ import annotations

import time

import pytest

from hil_tests.checks import assert_node_frames_exactly_once, wait_drained


def test_broker_outage_under_traffic_loses_nothing(rig, broker, node, gateway, events, strategy,
                                                   record_property: pytest.RecordProperty) -> None:
    if not broker.can_outage:
        pytest.skip("the rig's broker cannot be stopped (broker.stop_command/start_command)")
    outage_s = rig.spec.timing.broker_outage_s
    gateway.configure(demo={"enabled": True, "interval_s": 0.05})  # 20 events/s + the node
    strategy.transition("node_asleep", frames=2)
    events.wait_for(lambda p: len(p.events()) >= 10, 15, "traffic before the outage")

    before = max(m.event.seq for m in events.events())
    frames_before = len(node.sent_seqs())
    t0 = time.monotonic()
    broker.stop()
    time.sleep(outage_s)
    assert gateway.running, "the gateway died during the broker outage"
    node.set_input("pir", 1)  # an alarm during the outage must arrive too
    node.expect(r"^TX type=2", 10)
    frames_during = len(node.sent_seqs()) - frames_before
    broker.start()
    outage = time.monotonic() - t0
    record_property("outage_s", round(outage, 1))
    assert outage >= 60

    t1 = time.monotonic()
    node.set_input("pir", 0)
    node.wait_frames(2)
    node.power_off()
    last = wait_drained(events, rig.spec.timing.drain_timeout_s)
    record_property("drain_s", round(time.monotonic() - t1, 1))
    record_property("events_spooled_during_outage", last - before)
    assert last - before >= outage_s * 20 * 0.5, \
        f"too little traffic during the outage: {last - before} events"
    assert frames_during >= 10, f"the node sent only {frames_during} frames during the outage"
    events.assert_complete_and_ordered()
    assert_node_frames_exactly_once(events, node)
    health = events.latest_health()
    assert health["spool"]["dropped"] == 0, health["spool"]
    assert health["uplink"]["connects"] >= 2, health["uplink"]
