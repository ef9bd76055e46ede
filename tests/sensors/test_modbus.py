"""Modbus RTU poller against a real pymodbus server over a pty null-modem; decoding props."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ptybridge import PtyBridge

from gateway.sensors.config import ModbusConfig, ModbusRegisterConfig
from gateway.sensors.modbus import LimitTracker, ModbusPoller, decode_registers, register_count
from gateway.sensors.records import InstrumentAlarm, InstrumentReading

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusRtuServer:
    """pymodbus RTU server (unit 5) on one end of a pty bridge, in its own event loop."""

    def __init__(self, port: str, holding: list[int], inputs: list[int]) -> None:
        from pymodbus import FramerType
        from pymodbus.datastore import (
            ModbusDeviceContext,
            ModbusSequentialDataBlock,
            ModbusServerContext,
        )
        from pymodbus.server import ModbusSerialServer

        # pymodbus 3.x maps wire address 0 to block address 1, hence blocks start at 1.
        dev = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, holding),
                                  ir=ModbusSequentialDataBlock(1, inputs))
        ctx = ModbusServerContext(devices={5: dev}, single=False)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve() -> None:
            # pymodbus builds its transport on the running loop, so create it in there.
            self.server = ModbusSerialServer(ctx, framer=FramerType.RTU, port=port,
                                             baudrate=115200)
            ready.set()
            await self.server.serve_forever()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(serve(),),
                                       daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(5)
        self.thread.join(5)


@pytest.fixture
def bus() -> Iterator[tuple[str, Any]]:
    from pymodbus.client import ModbusSerialClient

    bridge = PtyBridge()
    f32 = struct.unpack(">2H", struct.pack(">f", 12.5))
    holding = [0] * 40
    holding[0] = 1234  # water level, mm
    holding[1] = 0xFFF6  # -10 as int16 -> temperature -1.0 C with scale 0.1
    holding[2], holding[3] = f32  # float32 flow
    inputs = [0] * 40
    inputs[4], inputs[5] = 0x0001, 0x86A0  # uint32 100000
    server = ModbusRtuServer(bridge.a, holding, inputs)
    time.sleep(0.2)
    client = ModbusSerialClient(bridge.b, baudrate=115200, timeout=0.3, retries=0)
    try:
        yield bridge.b, client
    finally:
        client.close()
        server.close()
        bridge.close()


def _cfg(port: str, unit: int = 5) -> ModbusConfig:
    return ModbusConfig.model_validate({
        "serial": {"port": port, "baudrate": 115200},
        "timeout_s": 0.3, "retries": 0, "poll_interval_s": 0.05,
        "instruments": [
            {"name": "tank", "unit_id": unit, "registers": [
                {"name": "water_level", "address": 0, "scale": 0.001, "unit": "m",
                 "high_limit": 1.5, "hysteresis": 0.05},
                {"name": "temperature", "address": 1, "data_type": "int16", "scale": 0.1,
                 "unit": "Cel", "low_limit": 0.0},
                {"name": "flow", "address": 2, "data_type": "float32", "unit": "m3/s"},
                {"name": "volume", "address": 4, "function": "input", "data_type": "uint32",
                 "unit": "m3"},
            ]},
            {"name": "ghost", "unit_id": 9, "registers": [{"name": "x", "address": 0}]},
        ],
    })


def test_poll_readings_alarms_and_dead_instrument(bus: tuple[str, Any]) -> None:
    port, client = bus
    readings: list[InstrumentReading] = []
    alarms: list[InstrumentAlarm] = []
    poller = ModbusPoller(_cfg(port), readings.append, alarms.append,
                          client_factory=lambda cfg: client)
    assert poller.poll_once() == 4
    got = {r.measurement.name: (r.measurement.value, r.measurement.unit) for r in readings}
    assert got == {"water_level": (pytest.approx(1.234), "m"),
                   "temperature": (pytest.approx(-1.0), "Cel"),
                   "flow": (12.5, "m3/s"), "volume": (100000.0, "m3")}
    assert [(a.name, a.kind, a.raised) for a in alarms] == [("temperature", "low", True)]
    assert poller.counters.get("read_errors.ghost") == 1  # unit 9 does not answer
    # water rises past the limit: one alarm; stays inside the hysteresis band: no new one
    client.write_register(0, 1600, device_id=5)
    client.write_register(1, 50, device_id=5)
    poller.poll_once()
    assert [(a.name, a.kind, a.raised) for a in alarms[1:]] == [
        ("water_level", "high", True), ("temperature", "low", False)]
    client.write_register(0, 1460, device_id=5)
    poller.poll_once()
    assert len(alarms) == 3
    client.write_register(0, 1400, device_id=5)
    poller.poll_once()
    assert (alarms[-1].kind, alarms[-1].raised, alarms[-1].measurement.value) == (
        "high", False, pytest.approx(1.4))
    assert poller.counters.get("polls") == 4


def test_thread_survives_missing_port(tmp_path: Any) -> None:
    cfg = _cfg(str(tmp_path / "ttyNONE")).model_copy(update={"poll_interval_s": 0.02})
    poller = ModbusPoller(cfg)
    poller.start()
    time.sleep(0.3)
    poller.stop()
    assert poller.counters.get("open_failures") >= 3
    assert poller.counters.get("polls") == 0


@given(st.sampled_from(["uint16", "int16", "uint32", "int32"]), st.data())
def test_decode_integers(data_type: str, data: st.DataObject) -> None:
    bits = 16 * register_count(data_type)
    signed = data_type.startswith("int")
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    value = data.draw(st.integers(lo, hi))
    raw = value.to_bytes(bits // 8, "big", signed=signed)
    regs = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    assert decode_registers(regs, data_type, "big") == value
    assert decode_registers(list(reversed(regs)), data_type, "little") == value


@given(st.floats(width=32, allow_nan=False))
def test_decode_float32(value: float) -> None:
    regs = list(struct.unpack(">2H", struct.pack(">f", value)))
    assert decode_registers(regs, "float32") == value


@given(st.lists(st.integers(-5, 70000), max_size=3), st.sampled_from(
    ["uint16", "int16", "uint32", "int32", "float32"]))
def test_decode_bad_input_raises_value_error_only(regs: list[int], data_type: str) -> None:
    with contextlib.suppress(ValueError):
        decode_registers(regs, data_type)


@given(st.lists(st.floats(-10, 10), max_size=40))
def test_limit_tracker_alternates(values: list[float]) -> None:
    reg = ModbusRegisterConfig(name="v", address=0, high_limit=5.0, hysteresis=1.0)
    t = LimitTracker()
    states = [raised for v in values for _, raised, _ in t.update("i", reg, v)]
    # edges strictly alternate raise/clear, starting with a raise
    assert all(s == (i % 2 == 0) for i, s in enumerate(states))
