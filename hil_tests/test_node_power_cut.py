"""A node's power is cut in the middle of transmitting a PIR alarm frame.

After it restarts: the half frame is garbage (counted, never published), the node's
sequence numbers continue above every number it used before (from the flash ceiling, never
reused, so the gateway rejects nothing as a replay), the alarm that was lost on the wire is
raised again and published exactly once, and no node frame is published twice.
"""

from __future__ import annotations

import pytest

from gateway.events import AlarmKind, AlarmState
from hil_tests.checks import assert_node_frames_exactly_once, node_events, wait_drained

T_ALARM = 2


def test_node_power_cut_mid_frame(rig, node, gateway, events, strategy,
                                  record_property: pytest.RecordProperty) -> None:
    strategy.transition("node_asleep", frames=3)

    node.arm_power_cut(T_ALARM)  # the supply fails halfway through the next alarm frame
    node.set_input("pir", 1)
    cut_tx = node.expect(r"^TX type=2 seq=(\d+)", 10)
    cut = node.expect(r"^POWER CUT after (\d+)/(\d+) bytes", 10)
    node.power_off(mid_frame=True)
    cut_seq = int(cut_tx.group(1))
    before = node.sent_seqs()
    assert cut_seq not in before, "the cut frame must not count as sent"
    record_property("cut_after_bytes", f"{cut.group(1)}/{cut.group(2)}")

    node.power_on()  # the PIR is still active
    node.expect(r"^BOOT cause=power_on", 20)
    status = node.expect(r"^TX type=3 seq=(\d+)", 10)
    resumed = int(status.group(1))
    assert resumed > cut_seq, f"node seq went back after the power cut: {resumed} <= {cut_seq}"
    realarm = node.expect(r"^TX type=2 seq=(\d+)", 10)
    got = events.expect("sensor_alarm", within=rig.spec.timing.alarm_latency_s, node=node.name,
                        kind=AlarmKind.PIR, state=AlarmState.ACTIVE)
    assert got.event.body.node_seq == int(realarm.group(1))
    node.wait_frames(2)
    node.power_off()
    wait_drained(events, rig.spec.timing.drain_timeout_s)

    seqs = node.sent_seqs()
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"node seqs reused: {seqs}"
    record_property("node_seq_skip", resumed - cut_seq)
    bodies = node_events(events, node)
    assert cut_seq not in {b.node_seq for b in bodies}, "the half frame was published"
    pir_active = [b for b in bodies if getattr(b, "kind", None) == AlarmKind.PIR
                  and b.state == AlarmState.ACTIVE]
    assert len(pir_active) == 1, f"PIR raise published {len(pir_active)} times"
    assert_node_frames_exactly_once(events, node)
    events.assert_complete_and_ordered()
    link = events.latest_health()["sensors"][f"nodelink:{node.name}"]
    assert link.get("rejected_replay", 0) == 0, f"gateway saw reused node seqs: {link}"
    assert link.get("garbage_bytes", 0) > 0, f"the half frame was not counted as garbage: {link}"
