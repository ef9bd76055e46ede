"""Map sensor records (node link, GPS, Modbus) onto protocol event bodies."""

from __future__ import annotations

from gateway.events.bodies import Checkin, DeviceFault, NodeStatus, SensorAlarm, SensorReadings
from gateway.events.senml import SenMLRecord
from gateway.events.types import AlarmKind, AlarmState, BootCause, Severity
from gateway.sensors import records
from gateway.sensors.budget import FloodChange
from gateway.sensors.liveness import SilenceChange
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
    "panic": AlarmKind.PANIC,
}

# Node-link wake causes (gateway/sensors/frames.py WAKE_CAUSES) -> why the node started.
# A timer or pin wake is the end of a deep sleep (the ESP32 reboots out of it).
BOOT_CAUSES = {
    "power_on": BootCause.POWER_ON,
    "timer": BootCause.DEEP_SLEEP,
    "pin": BootCause.DEEP_SLEEP,
    "watchdog": BootCause.WATCHDOG,
    "soft_reset": BootCause.SOFT_RESET,
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


def node_status(s: records.NodeStatus) -> NodeStatus:
    """A STATUS frame as a ``node_status`` event (boot cause, firmware, fallback, interval)."""
    return NodeStatus(node=node_name(s.node_id, s.node_name),
                      boot_cause=BOOT_CAUSES.get(s.wake_cause, BootCause.UNKNOWN),
                      fw_version=s.firmware[:64], config_fallback="config_fallback" in s.flags,
                      interval_s=s.interval_s, node_seq=s.seq)


def checkin(c: records.NodeCheckin, card_hash: bytes, known: bool | None) -> Checkin:
    """A card read as a ``checkin`` event: only the card's keyed hash leaves the gateway."""
    return Checkin(node=node_name(c.node_id, c.node_name), card_hash=card_hash, known=known,
                   node_seq=c.seq)


def node_fault(node_id: int, name: str | None, message: str, *, code: str,
               cleared_after_s: float | None = None) -> DeviceFault:
    """A ``node/<name>`` fault: a warning, or (``cleared_after_s``) its end, with how long it
    lasted."""
    if cleared_after_s is None:
        return DeviceFault(component=f"node/{node_name(node_id, name)}"[:64], code=code,
                           severity=Severity.WARNING, message=message[:256])
    return DeviceFault(component=f"node/{node_name(node_id, name)}"[:64], code=code,
                       severity=Severity.INFO, message=message[:256], cleared=True,
                       duration_ms=int(cleared_after_s * 1000))


def silence(ch: SilenceChange) -> DeviceFault:
    """A node gone silent (once), or heard again (cleared, with the length of the gap)."""
    who = f"node {node_name(ch.node_id, ch.name)} (id {ch.node_id})"
    if ch.cleared:
        return node_fault(ch.node_id, ch.name, code="silent", cleared_after_s=ch.gap_s,
                          message=f"{who} heard again after {ch.gap_s:.0f} s of silence")
    return node_fault(ch.node_id, ch.name, code="silent",
                      message=f"{who} has sent nothing for {ch.gap_s:.0f} s (expected every "
                      f"{ch.interval_s:g} s): check its battery, power and radio link")


def flooding(ch: FloodChange) -> DeviceFault:
    """A node over its frame budget (once per episode), or back under it (cleared)."""
    who = f"node {node_name(ch.node_id, ch.name)} (id {ch.node_id})"
    if ch.cleared:
        return node_fault(ch.node_id, ch.name, code="flooding", cleared_after_s=ch.duration_s,
                          message=f"{who} back under its budget: {ch.dropped} {ch.lane} "
                          "frame(s) dropped")
    return node_fault(ch.node_id, ch.name, code="flooding",
                      message=f"{who} sends more than {ch.per_min:g} {ch.lane} frames a minute: "
                      "the excess is dropped (counted) until it calms down; check its sensor and "
                      "firmware, or revoke it if it should not send")


def instrument_readings(r: InstrumentReading) -> SensorReadings:
    return SensorReadings(node=r.instrument, records=(senml(r.measurement),))


def instrument_alarm(a: InstrumentAlarm) -> SensorAlarm:
    water = "level" in a.measurement.name or a.measurement.unit == "m"
    return SensorAlarm(node=a.instrument,
                       kind=AlarmKind.WATER_LEVEL if water else AlarmKind.THRESHOLD,
                       state=AlarmState.ACTIVE if a.raised else AlarmState.CLEARED,
                       value=a.measurement.value, unit=a.measurement.unit or None,
                       sensor=f"{a.name}:{a.kind}"[:64])
