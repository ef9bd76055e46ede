"""Gateway sensor readers: node link (authenticated frames from MicroPython nodes over
serial/radio), NMEA GPS and Modbus RTU instruments.

Readers hand plain records (``gateway.sensors.records``) to callbacks; they never import
the event or uplink layers. Entry point for the service: :class:`SensorReaders`.
"""

from gateway.lazy import lazy_exports

# Resolved on first use (gateway/lazy.py explains why).
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

__getattr__ = lazy_exports(__name__, _EXPORTS)
