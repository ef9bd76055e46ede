"""Decide what a wake cycle reports: alarm changes at once, readings on schedule or change."""

from epnode.debounce import hysteresis
from epnode.quantities import (
    A_BATTERY_LOW,
    A_TEMPERATURE_HIGH,
    A_WATER_HIGH,
    BATTERY,
    DIGITAL_ALARMS,
    TEMPERATURE,
    WATER_LEVEL,
)

# limit alarm kind -> (config name, quantity, True if the alarm is "above the limit")
LIMIT_ALARMS = {
    A_BATTERY_LOW: ("battery_low", BATTERY, False),
    A_WATER_HIGH: ("water_high", WATER_LEVEL, True),
    A_TEMPERATURE_HIGH: ("temperature_high", TEMPERATURE, True),
}

THRESHOLD_NAMES = {TEMPERATURE: "temperature", BATTERY: "battery", WATER_LEVEL: "water_level",
                   4: "humidity"}


def alarm_changes(values: dict, prev_bits: int, cfg: dict) -> tuple:
    """Return (new alarm bitmask, [(kind, raised, value)] for every alarm that changed).

    Bit ``kind`` of the mask is set while that alarm is active; only edges are reported.
    """
    bits = prev_bits
    changes = []
    for q in DIGITAL_ALARMS:
        if q in values:
            kind = DIGITAL_ALARMS[q]
            bits = _set(bits, kind, values[q] == 1)
    for kind in LIMIT_ALARMS:
        name, q, above = LIMIT_ALARMS[kind]
        if q in values:
            was = bool(prev_bits & (1 << kind))
            now = hysteresis(was, values[q], cfg["limits"][name], cfg["hysteresis"][name], above)
            bits = _set(bits, kind, now)
    for kind in range(1, 16):
        mask = 1 << kind
        if (bits ^ prev_bits) & mask:
            changes.append((kind, bool(bits & mask), _alarm_value(kind, values)))
    return bits, changes


def _set(bits: int, kind: int, on: bool) -> int:
    return bits | (1 << kind) if on else bits & ~(1 << kind)


def _alarm_value(kind: int, values: dict) -> int:
    if kind in LIMIT_ALARMS:
        return values.get(LIMIT_ALARMS[kind][1], 0)
    for q in DIGITAL_ALARMS:
        if DIGITAL_ALARMS[q] == kind:
            return values.get(q, 0)
    return 0


def readings_due(now_s: int, last_report_s: int, values: dict, last_values: dict,
                 cfg: dict) -> bool:
    """True when the schedule is due, a quantity is new, or one moved past its threshold."""
    if not values:
        return False
    # An empty last_values means "never reported"; a clock that went back means the RTC
    # was reset, so the schedule cannot be trusted either.
    if not last_values or now_s < last_report_s:
        return True
    if now_s - last_report_s >= cfg["report_interval_s"]:
        return True
    for q in values:
        if q not in last_values:
            return True
        name = THRESHOLD_NAMES.get(q)
        # digital states are reported through alarms; their readings ride along on schedule
        if name is not None and abs(values[q] - last_values[q]) >= cfg["thresholds"][name]:
            return True
    return False
