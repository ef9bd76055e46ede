"""Gateway sensor readers: node link (authenticated frames from MicroPython nodes over
serial/radio), NMEA GPS and Modbus RTU instruments.

Readers hand plain records (``gateway.sensors.records``) to callbacks; they never import
the event or uplink layers.
"""
