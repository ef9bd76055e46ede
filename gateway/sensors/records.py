"""Plain records the sensor readers hand to their callbacks.

They carry decoded meaning only (no bytes, no keys), so the event layer can turn them into
events (SenML records for readings) without knowing any wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value in SenML terms: name, unit (``""`` for 0/1 states) and scaled value."""

    name: str
    unit: str
    value: float
    raw: int | None = None


@dataclass(frozen=True, slots=True)
class NodeReading:
    """A READINGS frame from a sensor node."""

    node_id: int
    node_name: str | None
    seq: int
    received_at: datetime
    measurements: tuple[Measurement, ...]
    source: str = ""


@dataclass(frozen=True, slots=True)
class NodeAlarm:
    """One alarm entry of an ALARM frame (a frame may carry up to four)."""

    node_id: int
    node_name: str | None
    seq: int
    received_at: datetime
    kind: str
    raised: bool
    value: Measurement | None
    source: str = ""


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A STATUS frame: sent by a node after a cold boot or reset, and periodically
    (flag ``periodic``; ``wake_cause`` is then the cause of the node's last boot)."""

    node_id: int
    node_name: str | None
    seq: int
    received_at: datetime
    wake_cause: str
    flags: frozenset[str]
    firmware: str
    source: str = ""
    interval_s: int | None = None  # report interval the node runs with (firmware >= 1.1)


@dataclass(frozen=True, slots=True)
class NodeCheckin:
    """A CHECKIN frame: a patrol card read at a node. ``card_id`` is the raw id: hash it
    before it goes anywhere (gateway.sensors.cards); it is kept out of the repr."""

    node_id: int
    node_name: str | None
    seq: int
    received_at: datetime
    card_kind: str  # "em4100", "nfc_uid" or "unknown_<code>"
    card_id: bytes = field(repr=False)
    source: str = ""


@dataclass(frozen=True, slots=True)
class GpsFix:
    """A GPS position fix (WGS84) and, when the receiver has it, UTC time."""

    latitude: float
    longitude: float
    altitude_m: float | None
    fix_quality: int
    satellites: int | None
    hdop: float | None
    gps_time: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class InstrumentReading:
    """A scaled value read from a Modbus RTU instrument register."""

    instrument: str
    measurement: Measurement
    received_at: datetime


@dataclass(frozen=True, slots=True)
class InstrumentAlarm:
    """A Modbus value crossed a configured limit (``raised``) or came back (not raised)."""

    instrument: str
    name: str
    kind: str  # "high" or "low"
    raised: bool
    measurement: Measurement
    limit: float
    received_at: datetime
    extra: dict[str, str] = field(default_factory=dict)
