"""Typed bodies of the event types. Each CBOR key is part of the protocol: never reuse one.

docs/protocol.md documents every field; ``tests/events/test_protocol_doc.py`` checks that the
document and these declarations agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway.events.errors import EventValidationError
from gateway.events.fields import Kind, field_table, normalise, wire
from gateway.events.senml import SenMLRecord
from gateway.events.types import (
    AlarmKind,
    AlarmState,
    BootCause,
    Direction,
    EventType,
    Phase,
    PlateColour,
    PlateStatus,
    PlateType,
    Severity,
    member_since,
)

# Spool overflow drops the lowest priority first, so routine readings go before alarms;
# a panic press outranks every other alarm.
PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_CRITICAL = 0, 1, 2, 3


@dataclass(frozen=True)
class Body:
    """Base of every event body: validates and normalises fields on construction."""

    TYPE: ClassVar[EventType]
    PRIORITY: ClassVar[int] = PRIORITY_NORMAL

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                if f.metadata["required"]:
                    raise EventValidationError(f"{self.TYPE.label}.{f.name} is required")
                continue
            clean = normalise(f"{self.TYPE.label}.{f.name}", f.metadata["kind"],
                              f.metadata["enum"], value)
            object.__setattr__(self, f.name, clean)
        self._check()

    def _check(self) -> None:
        """Cross-field rules; subclasses override."""

    def fields(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    def min_version(self) -> int:
        """The lowest schema version that can carry this body (its type, fields, codes)."""
        version = member_since(self.TYPE)
        # Only fields added after v1 and enum fields can raise it (cached per class).
        for spec in field_table(type(self)).versioned:
            value = getattr(self, spec.name)
            if value is None:
                continue
            version = max(version, spec.since)
            if spec.enum is not None:
                version = max(version, member_since(value))
        return version


@dataclass(frozen=True)
class VehiclePassage(Body):
    """A vehicle passed a checkpoint: one event per vehicle track, with its best plate read."""

    TYPE: ClassVar[EventType] = EventType.VEHICLE_PASSAGE
    plate: str | None = wire(1, Kind.TEXT)
    plate_hash: bytes | None = wire(2, Kind.BYTES)
    plate_conf: float | None = wire(3, Kind.CONF)
    char_conf: tuple[float, ...] | None = wire(4, Kind.CONF_LIST)
    plate_colour: PlateColour | None = wire(5, Kind.ENUM, enum=PlateColour)
    plate_type: PlateType | None = wire(6, Kind.ENUM, enum=PlateType)
    vehicle_class: str | None = wire(7, Kind.TEXT)
    direction: Direction | None = wire(8, Kind.ENUM, enum=Direction)
    zone: str | None = wire(9, Kind.TEXT)
    track_id: int | None = wire(10, Kind.UINT)
    camera: str | None = wire(11, Kind.TEXT)
    watch_match: bool | None = wire(12, Kind.BOOL)
    crop: bytes | None = wire(13, Kind.BYTES)
    preview: bool | None = wire(14, Kind.BOOL)
    conf: float | None = wire(15, Kind.CONF)
    plate_status: PlateStatus | None = wire(16, Kind.ENUM, enum=PlateStatus, since=2)
    clip: str | None = wire(17, Kind.TEXT, since=2)

    def _check(self) -> None:
        if self.plate is not None and self.plate_hash is not None:
            raise EventValidationError("vehicle_passage carries plate or plate_hash, not both")
        if self.plate is not None and len(self.plate) > 16:
            raise EventValidationError("vehicle_passage.plate must be at most 16 characters")

    @property
    def priority(self) -> int:
        # a covered or missing plate is what a checkpoint must flag: the alarm lane, like a hit
        urgent = self.watch_match or (self.plate_status is PlateStatus.ABSENT and not self.preview)
        return PRIORITY_HIGH if urgent else PRIORITY_NORMAL


@dataclass(frozen=True)
class ObjectEvent(Body):
    """An object (person, vehicle, ...) entered or left the camera's view or a zone."""

    TYPE: ClassVar[EventType] = EventType.OBJECT
    phase: Phase = wire(1, Kind.ENUM, enum=Phase, required=True)
    cls: str = wire(2, Kind.TEXT, required=True)
    track_id: int = wire(3, Kind.UINT, required=True)
    conf: float | None = wire(4, Kind.CONF)
    camera: str | None = wire(5, Kind.TEXT)
    zone: str | None = wire(6, Kind.TEXT)
    direction: Direction | None = wire(7, Kind.ENUM, enum=Direction)
    dwell_ms: int | None = wire(8, Kind.UINT)
    crop: bytes | None = wire(9, Kind.BYTES)
    clip: str | None = wire(10, Kind.TEXT, since=2)


@dataclass(frozen=True)
class LineCrossing(Body):
    """A tracked object crossed a configured line, in the given direction."""

    TYPE: ClassVar[EventType] = EventType.LINE_CROSSING
    line: str = wire(1, Kind.TEXT, required=True)
    direction: Direction = wire(2, Kind.ENUM, enum=Direction, required=True)
    cls: str = wire(3, Kind.TEXT, required=True)
    track_id: int = wire(4, Kind.UINT, required=True)
    conf: float | None = wire(5, Kind.CONF)
    camera: str | None = wire(6, Kind.TEXT)
    crop: bytes | None = wire(7, Kind.BYTES)
    clip: str | None = wire(8, Kind.TEXT, since=2)


@dataclass(frozen=True)
class ZoneIntrusion(Body):
    """An object of a watched class is inside a protected zone (e.g. a reservoir shoreline)."""

    TYPE: ClassVar[EventType] = EventType.ZONE_INTRUSION
    PRIORITY: ClassVar[int] = PRIORITY_HIGH
    zone: str = wire(1, Kind.TEXT, required=True)
    cls: str = wire(2, Kind.TEXT, required=True)
    track_id: int = wire(3, Kind.UINT, required=True)
    conf: float | None = wire(4, Kind.CONF)
    camera: str | None = wire(5, Kind.TEXT)
    crop: bytes | None = wire(6, Kind.BYTES)
    clip: str | None = wire(7, Kind.TEXT, since=2)


@dataclass(frozen=True)
class Loitering(Body):
    """An object stayed in a zone longer than the configured dwell time."""

    TYPE: ClassVar[EventType] = EventType.LOITERING
    PRIORITY: ClassVar[int] = PRIORITY_HIGH
    zone: str = wire(1, Kind.TEXT, required=True)
    cls: str = wire(2, Kind.TEXT, required=True)
    track_id: int = wire(3, Kind.UINT, required=True)
    dwell_ms: int = wire(4, Kind.UINT, required=True)
    camera: str | None = wire(5, Kind.TEXT)
    crop: bytes | None = wire(6, Kind.BYTES)
    clip: str | None = wire(7, Kind.TEXT, since=2)


@dataclass(frozen=True)
class Crowd(Body):
    """The number of objects of a class in a zone rose above the configured threshold."""

    TYPE: ClassVar[EventType] = EventType.CROWD
    cls: str = wire(1, Kind.TEXT, required=True)
    count: int = wire(2, Kind.UINT, required=True)
    threshold: int = wire(3, Kind.UINT, required=True)
    zone: str | None = wire(4, Kind.TEXT)
    camera: str | None = wire(5, Kind.TEXT)
    clip: str | None = wire(6, Kind.TEXT, since=2)
    crop: bytes | None = wire(7, Kind.BYTES, since=2)


@dataclass(frozen=True)
class SensorAlarm(Body):
    """A sensor raised or cleared an alarm (PIR, smoke, flame, water level, tamper, battery)."""

    TYPE: ClassVar[EventType] = EventType.SENSOR_ALARM
    PRIORITY: ClassVar[int] = PRIORITY_HIGH
    node: str = wire(1, Kind.TEXT, required=True)
    kind: AlarmKind = wire(2, Kind.ENUM, enum=AlarmKind, required=True)
    state: AlarmState = wire(3, Kind.ENUM, enum=AlarmState, required=True)
    value: float | None = wire(4, Kind.NUMBER)
    unit: str | None = wire(5, Kind.TEXT)
    sensor: str | None = wire(6, Kind.TEXT)
    node_seq: int | None = wire(7, Kind.UINT)
    clip: str | None = wire(8, Kind.TEXT, since=2)

    @property
    def priority(self) -> int:
        return PRIORITY_CRITICAL if self.kind is AlarmKind.PANIC else PRIORITY_HIGH


@dataclass(frozen=True)
class SensorReadings(Body):
    """Periodic or on-change readings of a node or instrument, as SenML records."""

    TYPE: ClassVar[EventType] = EventType.SENSOR_READINGS
    PRIORITY: ClassVar[int] = PRIORITY_LOW
    node: str = wire(1, Kind.TEXT, required=True)
    records: tuple[SenMLRecord, ...] = wire(2, Kind.SENML, required=True)
    node_seq: int | None = wire(3, Kind.UINT)


@dataclass(frozen=True)
class DeviceFault(Body):
    """Something on the gateway or a node is wrong and needs attention."""

    TYPE: ClassVar[EventType] = EventType.DEVICE_FAULT
    PRIORITY: ClassVar[int] = PRIORITY_HIGH
    component: str = wire(1, Kind.TEXT, required=True)
    code: str = wire(2, Kind.TEXT, required=True)
    severity: Severity = wire(3, Kind.ENUM, enum=Severity, required=True)
    message: str | None = wire(4, Kind.MESSAGE)
    cleared: bool | None = wire(5, Kind.BOOL, since=2)  # the condition has ended
    duration_ms: int | None = wire(6, Kind.UINT, since=2)  # how long it lasted, when cleared
    crop: bytes | None = wire(7, Kind.BYTES, since=2)  # e.g. the camera view on tamper


@dataclass(frozen=True)
class NodeStatus(Body):
    """A node's own state (schema v2): sent at boot, on change and at a low periodic rate.

    Battery and link quality travel as readings; this carries what a reading cannot."""

    TYPE: ClassVar[EventType] = EventType.NODE_STATUS
    node: str = wire(1, Kind.TEXT, required=True)
    boot_cause: BootCause | None = wire(2, Kind.ENUM, enum=BootCause)
    fw_version: str | None = wire(3, Kind.TEXT)
    config_fallback: bool | None = wire(4, Kind.BOOL)  # its config was invalid: defaults used
    interval_s: int | None = wire(5, Kind.UINT)  # the report interval it runs with
    node_seq: int | None = wire(6, Kind.UINT)


@dataclass(frozen=True)
class Checkin(Body):
    """A patrol checked in at a node with a card (schema v2). The card id never travels:
    only its keyed hash, as plates are hashed."""

    TYPE: ClassVar[EventType] = EventType.CHECKIN
    node: str = wire(1, Kind.TEXT, required=True)
    card_hash: bytes = wire(2, Kind.BYTES, required=True)
    known: bool | None = wire(3, Kind.BOOL)  # on the gateway's allow-list (None: no list)
    node_seq: int | None = wire(4, Kind.UINT)


BODY_TYPES: dict[EventType, type[Body]] = {
    cls.TYPE: cls
    for cls in (VehiclePassage, ObjectEvent, LineCrossing, ZoneIntrusion, Loitering, Crowd,
                SensorAlarm, SensorReadings, DeviceFault, NodeStatus, Checkin)
}


def body_priority(body: Body) -> int:
    """Spool priority of a body (some bodies raise theirs, e.g. a watch-list match)."""
    return getattr(body, "priority", body.PRIORITY)
