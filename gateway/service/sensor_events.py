"""Map sensor records (node link, GPS, Modbus) onto protocol event bodies."""

from __future__ import annotations

from gateway.events.bodies import SensorAlarm, SensorReadings
from gateway.events.senml import SenMLRecord
from gateway.events.types import AlarmKind, AlarmState
from gateway.sensors.records import (
    InstrumentAlarm,
    InstrumentReading,
    Measurement,
    NodeAlarm,
    NodeReading,
)

# Node-link alarm names (gateway/sensors/quantities.py) -> protocol alarm kinds.
NODE_ALARM_KINDS = {
    "motion": AlarmKind.PIR,
    "smoke": AlarmKind.SMOKE,
    "flame": AlarmKind.FLAME,
    "water_high": AlarmKind.WATER_LEVEL,
    "water_float": AlarmKind.WATER_LEVEL,
    "tamper": AlarmKind.TAMPER,
    "battery_low": AlarmKind.LOW_BATTERY,
    "temperature_high": AlarmKind.THRESHOLD,
}


def node_name(node_id: int, name: str | None) -> str:
    """The node's name from the key registry, else ``node-<id>``."""
    return name or f"node-{node_id}"


def senml(m: Measurement) -> SenMLRecord:
    """One measurement as a SenML record (unit omitted for unit-less 0/1 states)."""
    return SenMLRecord(n=m.name, u=m.unit or None, v=m.value)


def node_readings(r: NodeReading) -> SensorReadings | None:
    if not r.measurements:
        return None
    return SensorReadings(node=node_name(r.node_id, r.node_name),
                          records=tuple(senml(m) for m in r.measurements[:64]), node_seq=r.seq)


def node_alarm(a: NodeAlarm) -> SensorAlarm:
    return SensorAlarm(node=node_name(a.node_id, a.node_name),
                       kind=NODE_ALARM_KINDS.get(a.kind, AlarmKind.OTHER),
                       state=AlarmState.ACTIVE if a.raised else AlarmState.CLEARED,
                       value=a.value.value if a.value else None,
                       unit=(a.value.unit or None) if a.value else None, sensor=a.kind[:64],
                       node_seq=a.seq)


def instrument_readings(r: InstrumentReading) -> SensorReadings:
    return SensorReadings(node=r.instrument, records=(senml(r.measurement),))


def instrument_alarm(a: InstrumentAlarm) -> SensorAlarm:
    water = "level" in a.measurement.name or a.measurement.unit == "m"
    return SensorAlarm(node=a.instrument,
                       kind=AlarmKind.WATER_LEVEL if water else AlarmKind.THRESHOLD,
                       state=AlarmState.ACTIVE if a.raised else AlarmState.CLEARED,
                       value=a.measurement.value, unit=a.measurement.unit or None,
                       sensor=f"{a.name}:{a.kind}"[:64])
