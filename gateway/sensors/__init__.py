"""Gateway sensor readers: node link (authenticated frames from MicroPython nodes over
serial/radio), NMEA GPS and Modbus RTU instruments.

Readers hand plain records (``gateway.sensors.records``) to callbacks; they never import
the event or uplink layers. Entry point for the service: :class:`SensorReaders`.
"""

from gateway.sensors.config import (
    GpsConfig,
    ModbusConfig,
    ModbusInstrumentConfig,
    ModbusRegisterConfig,
    NodeLinkConfig,
    SensorsConfig,
    SerialPortConfig,
)
from gateway.sensors.gps import GpsTimeSource, NmeaGpsReader, NmeaParser, best_utc_now
from gateway.sensors.keys import KeyFileError, NodeKeyRegistry
from gateway.sensors.modbus import ModbusPoller
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import (
    GpsFix,
    InstrumentAlarm,
    InstrumentReading,
    Measurement,
    NodeAlarm,
    NodeReading,
    NodeStatus,
)
from gateway.sensors.runtime import NodeLink, SensorCallbacks, SensorReaders
from gateway.sensors.serialport import SerialPortReader

__all__ = [
    "GpsConfig",
    "GpsFix",
    "GpsTimeSource",
    "InstrumentAlarm",
    "InstrumentReading",
    "KeyFileError",
    "Measurement",
    "ModbusConfig",
    "ModbusInstrumentConfig",
    "ModbusPoller",
    "ModbusRegisterConfig",
    "NmeaGpsReader",
    "NmeaParser",
    "NodeAlarm",
    "NodeKeyRegistry",
    "NodeLink",
    "NodeLinkConfig",
    "NodeLinkDecoder",
    "NodeReading",
    "NodeStatus",
    "SensorCallbacks",
    "SensorReaders",
    "SensorsConfig",
    "SerialPortConfig",
    "SerialPortReader",
    "best_utc_now",
]
