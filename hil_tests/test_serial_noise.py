"""Noise on the serial link: garbage is counted in health, every valid frame still decoded.

Bursts of random bytes (zeros included, so some look like frame delimiters, and one run
longer than any legal frame) land on the line while the node sleeps between wakes.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from hil_tests.checks import assert_node_frames_exactly_once, wait_drained

BURSTS = 12


def test_serial_noise_is_counted_and_frames_survive(rig, node, gateway, events, strategy,
                                                    record_property: pytest.RecordProperty) -> None:
    link = rig.links[node.name]
    rng = random.Random(6)
    strategy.transition("node_asleep", frames=2)
    injected = 0
    for i in range(BURSTS):
        node.expect(r"^SLEEP", 10)  # between frames, like noise on an idle radio channel
        size = 300 if i == 3 else rng.randint(5, 60)  # one oversize run
        noise = bytes(rng.randrange(1, 256) if rng.random() > 0.05 else 0 for _ in range(size))
        link.inject(noise + b"\x00")
        injected += size
        node.expect(r"^WAKE", 10)
    node.wait_frames(2)
    node.power_off()
    wait_drained(events, rig.spec.timing.drain_timeout_s)

    key = f"nodelink:{node.name}"
    sent = len(node.sent_seqs())
    # Health is periodic: wait for a report taken after the last frame was decoded (or time
    # out and judge the newest one).
    with contextlib.suppress(AssertionError):
        events.expect_health(lambda d: d["sensors"][key].get("frames_ok", 0) >= sent, 10,
                             "health after the last frame")
    health = events.latest_health()["sensors"][key]
    record_property("noise_bytes", injected)
    record_property("nodelink_health", health)
    assert health.get("garbage_bytes", 0) >= injected * 0.9, \
        f"garbage not counted: injected {injected} bytes, health {health}"
    assert any(k.startswith("rejected_") and v > 0 for k, v in health.items()), health
    assert health.get("rejected_oversize", 0) >= 1, f"oversize run not counted: {health}"
    assert health["frames_ok"] == sent, \
        f"valid frames lost in the noise: sent {sent}, decoded {health}"
    assert_node_frames_exactly_once(events, node)
    events.assert_complete_and_ordered()
