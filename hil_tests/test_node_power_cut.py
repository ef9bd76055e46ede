"""A node's power is cut in the middle of transmitting a PIR alarm frame.

After it restarts: the half frame is garbage (counted, never published), the node's
sequence numbers continue above every number it used before (from the flash ceiling, never
reused, so the gateway rejects nothing as a replay), the alarm that was lost on the wire is
raised again and published exactly once, and no node frame is published twice.

The race this test used to lose (3 runs in 4): "drained" was concluded from a health report
that said spool depth 0 while the node's last complete frames were still on their way from
the serial port to the spool, so they were then reported lost. The test now first waits for
what it checks: every data frame the node completed is published; only then for the
gateway's spool to be empty. ``EDGEPOST_HIL_REPEAT=20`` runs it 20 times in a row (CI).
"""

from __future__ import annotations

import os

import pytest

from gateway.events import AlarmKind, AlarmState
from hil_tests.checks import (
    DATA_TYPES,
    assert_node_frames_exactly_once,
    node_events,
    wait_drained,
)

T_ALARM = 2
REPEAT = int(os.environ.get("EDGEPOST_HIL_REPEAT", "1"))  # CI: 20, to prove the race is gone


def wait_published(events, node, within: float) -> None:
    """Wait until every data frame the node completed (read afresh on each check, so a SENT
    line read late counts too) has arrived as an event."""

    def all_published(p) -> bool:
        sent = {s for s, t in node.sent_frames().items() if t in DATA_TYPES}
        return sent <= {b.node_seq for b in node_events(p, node)}

    events.wait_for(all_published, within, f"every completed frame of node {node.name} published")


@pytest.mark.parametrize("run", range(REPEAT), ids=lambda r: f"run{r + 1}")
def test_node_power_cut_mid_frame(rig, node, gateway, events, strategy, run: int,
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
    wait_published(events, node, rig.spec.timing.drain_timeout_s)
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
