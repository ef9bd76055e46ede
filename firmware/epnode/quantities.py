"""Quantity codes and alarm kinds of the node link (docs/protocol.md, part 2, section 2.4).

Values travel as signed 16-bit integers in a fixed unit per quantity, so the node never
needs floating point and a reading costs 3 bytes on the wire.
"""

# quantity name -> code; the unit of the raw integer is in the comment.
TEMPERATURE = 1  # centi-degrees Celsius
BATTERY = 2  # millivolts
WATER_LEVEL = 3  # millimetres
HUMIDITY = 4  # centi-percent relative humidity
MOTION = 5  # 0/1 (PIR)
SMOKE = 6  # 0/1
FLAME = 7  # 0/1
TAMPER = 8  # 0/1
WATER_FLOAT = 9  # 0/1 (float switch closed = 1)
RSSI = 10  # dBm
PANIC = 11  # 0/1 (panic button pressed = 1)

QUANTITY_CODES = {
    "temperature": TEMPERATURE,
    "battery": BATTERY,
    "water_level": WATER_LEVEL,
    "humidity": HUMIDITY,
    "motion": MOTION,
    "smoke": SMOKE,
    "flame": FLAME,
    "tamper": TAMPER,
    "water_float": WATER_FLOAT,
    "rssi": RSSI,
    "panic": PANIC,
}

# alarm kinds
A_MOTION = 1
A_SMOKE = 2
A_FLAME = 3
A_WATER_HIGH = 4
A_TAMPER = 5
A_BATTERY_LOW = 6
A_TEMPERATURE_HIGH = 7
A_WATER_FLOAT = 8
# A press, not a state: sent at once, repeated with the same seq, never "cleared" (cycle.py).
A_PANIC = 9

# digital quantity -> alarm raised while the input is active
DIGITAL_ALARMS = {
    MOTION: A_MOTION,
    SMOKE: A_SMOKE,
    FLAME: A_FLAME,
    TAMPER: A_TAMPER,
    WATER_FLOAT: A_WATER_FLOAT,
}

ALARM_CODES = {
    "motion": A_MOTION,
    "smoke": A_SMOKE,
    "flame": A_FLAME,
    "water_high": A_WATER_HIGH,
    "tamper": A_TAMPER,
    "battery_low": A_BATTERY_LOW,
    "temperature_high": A_TEMPERATURE_HIGH,
    "water_float": A_WATER_FLOAT,
    "panic": A_PANIC,
}
