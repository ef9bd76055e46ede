"""End to end: firmware on the MicroPython VM writes frames into a real pty; the gateway's
SerialPortReader + NodeLinkDecoder read the other end (the MQTT leg is added by the core)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import tty
from pathlib import Path

from fwvm import FIRMWARE, MP_TESTS, mpvm_cmd

from gateway.sensors.config import SerialPortConfig
from gateway.sensors.keys import NodeKeyRegistry
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.quantities import ALARM_KINDS, quantity
from gateway.sensors.records import NodeAlarm, NodeReading, NodeStatus
from gateway.sensors.serialport import SerialPortReader

KEY = bytes(range(100, 132))


def test_firmware_frames_over_pty_decoded_by_gateway(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)  # a byte link: no echo, no CR/LF translation
    records: list[object] = []
    decoder = NodeLinkDecoder(NodeKeyRegistry({321: (KEY, "reservoir-east")}),
                              records.append, records.append, records.append, source="pty")
    reader = SerialPortReader(SerialPortConfig(port=os.ttyname(slave), baudrate=115200),
                              decoder.feed, name="pty")
    reader.start()
    try:
        assert reader.wait_connected(5)
        arg = json.dumps({"node_id": 321, "key": KEY.hex(), "wakes": 25})
        cmd = mpvm_cmd(MP_TESTS / "e2e_node.py", arg)
        cmd[-1:-1] = ["--uart-fd", str(master)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=FIRMWARE,
                              pass_fds=(master,))
        assert proc.returncode == 0, proc.stderr
        expected = [json.loads(line[7:]) for line in proc.stdout.splitlines()
                    if line.startswith("EXPECT ")]
        assert len(expected) >= 10
        deadline = time.monotonic() + 10
        while decoder.stats().get("frames_ok", 0) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        reader.stop()
        os.close(master)
        os.close(slave)

    stats = decoder.stats()
    assert stats["frames_ok"] == len(expected), stats
    assert not any(k.startswith("rejected_") for k in stats), stats
    assert stats.get("garbage_bytes", 0) == 0
    # Flatten what the gateway produced to (type, seq, entries) and compare frame by frame.
    got: dict[int, tuple[int, list[list[int]]]] = {}
    for r in records:
        assert r.node_id == 321 and r.node_name == "reservoir-east" and r.source == "pty"
        if isinstance(r, NodeReading):
            got[r.seq] = (1, [[quantity_code(m.name), m.raw] for m in r.measurements])
        elif isinstance(r, NodeAlarm):
            code = next(c for c, (n, _) in ALARM_KINDS.items() if n == r.kind)
            entry = [code, int(r.raised), r.value.raw if r.value else 0]
            got.setdefault(r.seq, (2, []))[1].append(entry)
        elif isinstance(r, NodeStatus):
            assert r.wake_cause == "power_on" and r.firmware == "1.1" and r.interval_s == 300
            got[r.seq] = (3, [])
    for e in expected:
        ftype, entries = got[e["seq"]]
        assert ftype == e["type"], e
        if ftype != 3:
            assert entries == e["entries"], e
    seqs = [e["seq"] for e in expected]
    assert seqs == list(range(len(seqs)))  # every number once, in order
    kinds = {r.kind for r in records if isinstance(r, NodeAlarm)}
    assert "motion" in kinds and "battery_low" in kinds
    temps = [m.value for r in records if isinstance(r, NodeReading)
             for m in r.measurements if m.name == "temperature"]
    assert {25.0, 37.0} <= set(temps) and all(25.0 <= t <= 37.0 for t in temps)
    assert quantity(1).unit == "Cel"


def quantity_code(name: str) -> int:
    from gateway.sensors.quantities import QUANTITY_BY_NAME

    return QUANTITY_BY_NAME[name].code
