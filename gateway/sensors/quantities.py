"""Quantity codes and alarm kinds of the node link, with SenML names, units and scales.

The node sends each value as a signed 16-bit integer in a fixed unit; ``scale`` turns it
into the SenML base unit (RFC 8428 section 12.1), e.g. centi-degrees -> ``Cel``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quantity:
    """One node-link quantity: wire code, SenML-style name, unit and scale of the raw int."""

    code: int
    name: str
    unit: str
    scale: float


QUANTITIES: dict[int, Quantity] = {
    q.code: q
    for q in (
        Quantity(1, "temperature", "Cel", 0.01),
        Quantity(2, "battery", "V", 0.001),
        Quantity(3, "water_level", "m", 0.001),
        Quantity(4, "humidity", "%RH", 0.01),
        # Digital inputs: 0/1 state. SenML would use a boolean value ("vb"); kept numeric
        # here and marked with an empty unit so the event layer can choose.
        Quantity(5, "motion", "", 1.0),
        Quantity(6, "smoke", "", 1.0),
        Quantity(7, "flame", "", 1.0),
        Quantity(8, "tamper", "", 1.0),
        Quantity(9, "water_float", "", 1.0),
        Quantity(10, "rssi", "dBm", 1.0),
        Quantity(11, "panic", "", 1.0),  # panic button: 1 = pressed
    )
}
QUANTITY_BY_NAME: dict[str, Quantity] = {q.name: q for q in QUANTITIES.values()}

# alarm code -> (alarm name, quantity code whose unit/scale the alarm value uses)
ALARM_KINDS: dict[int, tuple[str, int]] = {
    1: ("motion", 5),
    2: ("smoke", 6),
    3: ("flame", 7),
    4: ("water_high", 3),
    5: ("tamper", 8),
    6: ("battery_low", 2),
    7: ("temperature_high", 1),
    8: ("water_float", 9),
    9: ("panic", 11),  # a press: sent once (repeated with one seq), never cleared
}
ALARM_CODE_BY_NAME: dict[str, int] = {name: code for code, (name, _) in ALARM_KINDS.items()}


def quantity(code: int) -> Quantity:
    """Return the quantity for ``code``; unknown codes (newer firmware) keep their raw value."""
    known = QUANTITIES.get(code)
    return known if known is not None else Quantity(code, f"unknown_{code}", "", 1.0)
