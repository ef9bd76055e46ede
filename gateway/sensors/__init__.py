"""Gateway sensor readers: node link (authenticated frames from MicroPython nodes over
serial/radio), NMEA GPS and Modbus RTU instruments.

Readers hand plain records (``gateway.sensors.records``) to callbacks; they never import
the event or uplink layers. Entry point for the service: :class:`SensorReaders`.
"""

# Names resolve lazily (PEP 562) so that importing the configuration models, as the gateway's
# config loader does, does not pull in pyserial, pynmea2 or pymodbus.
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GpsConfig": "gateway.sensors.config",
    "GpsFix": "gateway.sensors.records",
    "GpsTimeSource": "gateway.sensors.gps",
    "InstrumentAlarm": "gateway.sensors.records",
    "InstrumentReading": "gateway.sensors.records",
    "KeyFileError": "gateway.sensors.keys",
    "Measurement": "gateway.sensors.records",
    "ModbusConfig": "gateway.sensors.config",
    "ModbusInstrumentConfig": "gateway.sensors.config",
    "ModbusPoller": "gateway.sensors.modbus",
    "ModbusRegisterConfig": "gateway.sensors.config",
    "NmeaGpsReader": "gateway.sensors.gps",
    "NmeaParser": "gateway.sensors.gps",
    "NodeAlarm": "gateway.sensors.records",
    "NodeKeyRegistry": "gateway.sensors.keys",
    "NodeLink": "gateway.sensors.runtime",
    "NodeLinkConfig": "gateway.sensors.config",
    "NodeLinkDecoder": "gateway.sensors.nodelink",
    "NodeReading": "gateway.sensors.records",
    "NodeStatus": "gateway.sensors.records",
    "SensorCallbacks": "gateway.sensors.runtime",
    "SensorReaders": "gateway.sensors.runtime",
    "SensorsConfig": "gateway.sensors.config",
    "SerialPortConfig": "gateway.sensors.config",
    "SerialPortReader": "gateway.sensors.serialport",
    "best_utc_now": "gateway.sensors.gps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
