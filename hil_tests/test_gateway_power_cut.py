"""The gateway's power is cut (kill -9) under traffic, three times: nothing stored is lost.

Traffic: the node's frames plus the gateway's synthetic source at 50 events/s. The last cut
comes while the broker is unreachable (a site power failure also takes the router), so the
spool holds a backlog at the cut that must be delivered after the restart. After the last
restart the gateway runs without the synthetic source until its spool is empty.
"""

from __future__ import annotations

import time

import pytest

from hil_tests.checks import assert_node_frames_exactly_once, wait_drained

CUTS = 3


def test_gateway_power_cut_loses_nothing(rig, broker, node, gateway, events, strategy,
                                         record_property: pytest.RecordProperty) -> None:
    gateway.configure(demo={"enabled": True, "interval_s": 0.02})
    strategy.transition("node_asleep", frames=3)
    events.wait_for(lambda p: len(p.events()) >= 20, 15, "traffic before the first cut")

    dark: list[tuple[float, float]] = []  # (cut, back online) per cut
    for i in range(CUTS):
        before = len(events.events())
        last = i == CUTS - 1
        if last and broker.can_outage:
            broker.stop()  # backlog builds up in the spool
        time.sleep(0.7 + 0.3 * i)
        t_cut = time.monotonic()
        gateway.kill()
        assert not gateway.running
        time.sleep(0.5)  # the gateway is dark; the node keeps talking into the line
        if last:
            gateway.configure(demo={"enabled": False})
            if broker.can_outage:
                broker.start()
        gateway.start()
        dark.append((t_cut, time.monotonic()))
        events.wait_for(lambda p, b=before: len(p.events()) > b, 15,
                        f"events flowing again after cut {i + 1}")

    node.wait_frames(3)  # frames after the last restart
    node.power_off()
    last = wait_drained(events, rig.spec.timing.drain_timeout_s)
    events.assert_complete_and_ordered()
    record_property("gateway_events", last)
    record_property("redeliveries_after_cuts", events.duplicates)
    assert gateway.kills == CUTS
    # Node frames: each one published at most once, and every frame sent while the gateway
    # was up must be there. Frames sent while it was dark are lost on the line, as on a
    # real UART with no receiver (margin: 1 s after online for the serial port to open).
    up = {s for s, t in node.sent_times().items()
          if not any(a - 0.1 <= t <= b + 1.0 for a, b in dark)}
    record_property("node_frames_sent_while_gateway_dark", len(node.sent_seqs()) - len(up))
    assert_node_frames_exactly_once(events, node, up)
    assert events.bad == 0, "undecodable messages on the event topics"
