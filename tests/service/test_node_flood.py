"""One node flooding alarms cannot crowd out the rest (found by probing, session 43).

Every authenticated node frame became an event at HIGH priority, with no limit per node: a node
stuck in a loop, or one stolen (its key is readable from its flash) and scripted, filled the
spool's alarm lane as fast as the link carried frames, pushing camera events and other nodes'
alarms out of a full spool and holding the uplink. Real pty, real frames, real mosquitto.
"""

from __future__ import annotations

import os
import tty
from pathlib import Path
from typing import Any

from gateway.broker import LocalMosquitto
from gateway.sensors import frames
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config

STUCK, OTHER = 11, 12
KEYS = {STUCK: bytes(range(1, 33)), OTHER: bytes(range(40, 72))}
FLOOD = 100


def of_type(c: Collector, label: str) -> list[Any]:
    return [m.event.body for m in c.events if m.event.type.label == label]


def faults(c: Collector) -> list[Any]:
    return [b for b in of_type(c, "device_fault") if b.code == "flooding"]


def test_a_flooding_node_is_held_to_its_budget_and_the_others_get_through(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    keys = tmp_path / "nodes.toml"
    keys.write_text(f'[[nodes]]\nid = {STUCK}\nname = "stuck-pir"\nkey = "{KEYS[STUCK].hex()}"\n'
                    f'[[nodes]]\nid = {OTHER}\nname = "gate-smoke"\nkey = "{KEYS[OTHER].hex()}"\n')
    keys.chmod(0o600)
    cfg = make_config(tmp_path, broker.port, sensors={
        "node_links": [{"name": "radio", "key_file": str(keys),
                        "serial": {"port": os.ttyname(slave), "baudrate": 115200}}],
        "budget": {"alarms_per_min": 60, "burst": 5},
        "liveness": {"check_every_s": 0.2}})
    sub = Collector(broker.port).start()
    service = GatewayService(cfg)
    service.start()
    try:
        assert service.sensors is not None
        assert service.sensors.readers.node_links[0].reader.wait_connected(5)
        flood = b"".join(frames.build_frame(frames.FrameType.ALARM, STUCK, seq,
                                            frames.alarm_payload([(1, seq % 2 == 1, 0)]), KEYS[STUCK])
                         for seq in range(1, FLOOD + 1))
        os.write(master, flood)
        os.write(master, frames.build_frame(frames.FrameType.ALARM, OTHER, 1,
                                            frames.alarm_payload([(2, True, 0)]), KEYS[OTHER]))

        assert sub.wait_for(lambda c: any(b.node == "gate-smoke" for b in of_type(c, "sensor_alarm")), 15)
        # with the flood over, the bucket fills up again in 5 s: the fault is cleared
        assert sub.wait_for(lambda c: len(faults(c)) == 2, 20), faults(sub)
        counters = service.sensors.counters.snapshot()
    finally:
        service.stop()
        sub.stop()
        os.close(master)
        os.close(slave)

    stuck = [b for b in of_type(sub, "sensor_alarm") if b.node == "stuck-pir"]
    assert 5 <= len(stuck) <= 10, len(stuck)  # the burst, and the rate while the frames arrived
    assert len(stuck) + counters["flood_dropped_alarms"] == FLOOD, "every frame sent or counted"
    raised, cleared = faults(sub)
    assert raised.component == "node/stuck-pir" and not raised.cleared
    assert "more than 60 alarms frames a minute" in raised.message
    dropped = counters["flood_dropped_alarms"]
    assert cleared.cleared and f"{dropped} alarms frame(s) dropped" in cleared.message
    seqs = sorted(m.event.seq for m in sub.events)
    assert seqs == list(range(1, len(seqs) + 1)), "dropped before the spool: no gaps in the stream"
