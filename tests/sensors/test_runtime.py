"""SensorReaders from a [sensors] config: node link + GPS on ptys at once, none blocks."""

from __future__ import annotations

import os
import time
import tty
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.sensors import SensorCallbacks, SensorReaders, SensorsConfig, frames
from gateway.sensors.records import GpsFix, NodeReading


def _pty() -> tuple[int, int, str]:
    m, s = os.openpty()
    tty.setraw(s)
    return m, s, os.ttyname(s)


def test_readers_run_side_by_side_and_save_replay_state(tmp_path: Path) -> None:
    key = bytes(range(32))
    keyfile = tmp_path / "nodes.toml"
    keyfile.write_text(f'[[nodes]]\nid = 17\nkey = "{key.hex()}"\n')
    state = tmp_path / "replay.json"
    m1, s1, p1 = _pty()
    m2, s2, p2 = _pty()
    cfg = SensorsConfig.model_validate({
        "node_links": [{"name": "radio0", "serial": {"port": p1, "read_timeout_s": 0.05},
                        "key_file": str(keyfile), "replay_state_file": str(state)}],
        "gps": {"serial": {"port": p2, "read_timeout_s": 0.05}},
        "modbus": [{"serial": {"port": str(tmp_path / "no-rs485")}, "poll_interval_s": 0.05,
                    "instruments": [{"name": "x", "unit_id": 1,
                                     "registers": [{"name": "v", "address": 0}]}]}],
    })
    got: list[object] = []
    readers = SensorReaders(cfg, SensorCallbacks(on_node_reading=got.append,
                                                 on_gps_fix=got.append))
    readers.start()
    try:
        assert readers.node_links[0].reader.wait_connected(5)
        assert readers.gps is not None and readers.gps.serial.wait_connected(5)
        os.write(m1, frames.build_frame(1, 17, 42, frames.readings_payload([(1, 99)]), key))
        os.write(m2, b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n")
        end = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        readers.stop()
        for fd in (m1, s1, m2, s2):
            os.close(fd)
    assert {type(r) for r in got} == {NodeReading, GpsFix}
    health = readers.health()
    assert health["nodelink:radio0"]["frames_ok"] == 1
    assert health["gps"]["fixes"] == 1
    assert health[f"modbus:{tmp_path / 'no-rs485'}"]["open_failures"] >= 1
    assert '"17": 42' in state.read_text()


def test_unknown_config_key_rejected() -> None:
    with pytest.raises(ValidationError):
        SensorsConfig.model_validate({"node_links": [], "gsp": {}})
    with pytest.raises(ValidationError):
        SensorsConfig.model_validate({"gps": {"serial": {"port": "/dev/x", "baud": 9600}}})


def test_every_config_field_documented() -> None:
    from gateway.sensors import config as c

    models = [c.SerialPortConfig, c.NodeLinkConfig, c.GpsConfig, c.ModbusRegisterConfig,
              c.ModbusInstrumentConfig, c.ModbusConfig, c.SensorsConfig]
    for m in models:
        assert m.model_config.get("extra") == "forbid"
        for name, field in m.model_fields.items():
            assert field.description, f"{m.__name__}.{name}"
