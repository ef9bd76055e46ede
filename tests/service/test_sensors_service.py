"""End to end: firmware on the real MicroPython VM writes node-link frames into a pty, the
gateway service reads the other end, and the events arrive at a real mosquitto."""

from __future__ import annotations

import json
import os
import subprocess
import tty
from pathlib import Path

from gateway.broker import LocalMosquitto
from gateway.events import AlarmKind, AlarmState, BootCause
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config
from tests.firmware.fwvm import FIRMWARE, MP_TESTS, mpvm_cmd

KEY = bytes(range(100, 132))


def test_node_frames_reach_the_broker_as_events(broker: LocalMosquitto, tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    keys = tmp_path / "nodes.toml"
    keys.write_text(f'[[nodes]]\nid = 321\nname = "reservoir-east"\nkey = "{KEY.hex()}"\n')
    keys.chmod(0o600)
    cfg = make_config(tmp_path, broker.port, sensors={"node_links": [{
        "name": "radio", "key_file": str(keys),
        "serial": {"port": os.ttyname(slave), "baudrate": 115200}}],
        # the simulated node wakes 25 times in a second, far above any real node's budget
        "budget": {"others_per_min": 6000, "alarms_per_min": 6000, "burst": 1000}})
    sub = Collector(broker.port).start()
    service = GatewayService(cfg)
    service.start()
    try:
        assert service.sensors is not None
        assert service.sensors.readers.node_links[0].reader.wait_connected(5)
        arg = json.dumps({"node_id": 321, "key": KEY.hex(), "wakes": 25})
        cmd = mpvm_cmd(MP_TESTS / "e2e_node.py", arg)
        cmd[-1:-1] = ["--uart-fd", str(master)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=FIRMWARE,
                              pass_fds=(master,))
        assert proc.returncode == 0, proc.stderr
        expected = [json.loads(line[7:]) for line in proc.stdout.splitlines()
                    if line.startswith("EXPECT ")]
        data_frames = [e for e in expected if e["type"] in (1, 2)]  # readings, alarms
        n_alarm_events = sum(len(e["entries"]) for e in expected if e["type"] == 2)
        n_reading_events = sum(1 for e in expected if e["type"] == 1)
        want = n_alarm_events + n_reading_events + 1  # + the boot STATUS as node_status
        assert want >= 10
        assert sub.wait_for(lambda c: len(c.events) >= want, 20), (
            len(sub.events), want, service.health.report(0).get("sensors"))
    finally:
        service.stop()
        sub.stop()
        os.close(master)
        os.close(slave)

    every = [m.event.body for m in sub.events]
    assert {b.node for b in every} == {"reservoir-east"}
    (status,) = [b for b in every if type(b).__name__ == "NodeStatus"]
    assert status.boot_cause == BootCause.POWER_ON and status.fw_version == "1.1"
    assert status.interval_s == 300 and status.config_fallback is False
    assert status.node_seq == next(e["seq"] for e in expected if e["type"] == 3)
    bodies = [b for b in every if type(b).__name__ != "NodeStatus"]
    readings = [b for b in bodies if type(b).__name__ == "SensorReadings"]
    alarms = [b for b in bodies if type(b).__name__ == "SensorAlarm"]
    assert len(readings) == n_reading_events and len(alarms) == n_alarm_events
    # Node sequence numbers survive into the events, in order, for every data frame.
    assert sorted({b.node_seq for b in bodies}) == sorted(e["seq"] for e in data_frames)
    temps = [r.v for b in readings for r in b.records if r.n == "temperature"]
    assert temps and all(25.0 <= t <= 37.0 for t in temps)
    assert {r.u for b in readings for r in b.records if r.n == "temperature"} == {"Cel"}
    kinds = {a.kind for a in alarms}
    assert AlarmKind.PIR in kinds and AlarmKind.LOW_BATTERY in kinds
    assert {a.state for a in alarms} <= {AlarmState.ACTIVE, AlarmState.CLEARED}
    # The gateway's own sequence numbers have no gaps.
    assert sorted(m.event.seq for m in sub.events) == list(range(1, len(sub.events) + 1))
