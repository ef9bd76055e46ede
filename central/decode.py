"""Turn one MQTT message into what the archive keeps: an event row, a status document or a
quarantine record with its reason. The one place that knows the wire format at the centre.

Why one module: the event schema will get a v2 (new event kinds, new envelope fields); the
ingest loop, the store and the accounting see only :class:`EventRow`, so extending the
protocol means extending :func:`classify` and :func:`_row_from_event`, nothing else.

Contract: :func:`classify` never raises on any input (topic, payload, content type). Bad
input comes back as a :class:`Quarantined` with a stable ``reason`` code and a detail text.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from gateway.events import (
    AlarmState,
    DeviceFault,
    Direction,
    Event,
    EventDecodeError,
    EventType,
    Format,
    Loitering,
    PlateStatus,
    SensorAlarm,
    Severity,
    VehiclePassage,
    ZoneIntrusion,
    decode,
    load_document,
    parse_topic,
)
from gateway.events.bodies import Crowd
from gateway.events.topics import DEVICE_ID_RE

# Reasons a message is quarantined (stable codes: they label metrics and the API).
R_FOREIGN_TOPIC = "foreign_topic"
R_BAD_DEVICE = "bad_device_id"
R_OVERSIZED = "oversized"
R_UNDECODABLE = "undecodable"
R_SCHEMA = "unknown_schema_version"
R_TYPE_MISMATCH = "type_mismatch"
R_DEVICE_MISMATCH = "device_mismatch"
R_CLOCK = "clock_out_of_range"
REASONS = (R_FOREIGN_TOPIC, R_BAD_DEVICE, R_OVERSIZED, R_UNDECODABLE, R_SCHEMA, R_TYPE_MISMATCH,
           R_DEVICE_MISMATCH, R_CLOCK)

QUARANTINE_HEAD = 1024  # bytes of a bad payload kept for inspection: enough to see what it was
MAX_FUTURE_SKEW_MS = 86_400_000  # more than a day ahead is no clock at all (and would make partitions)


@dataclass(slots=True)
class EventRow:
    """One event as the archive stores it (columns the queries need, the rest in ``body``)."""

    id: bytes
    ts_ms: int
    device: str
    seq: int
    type: str
    rx_ms: int
    body: str  # JSON of the body without the crop
    lat: float | None = None
    lon: float | None = None
    plate: str | None = None
    plate_hash: bytes | None = None
    direction: str | None = None
    vehicle_class: str | None = None
    zone: str | None = None
    camera: str | None = None
    watch_match: bool | None = None
    crop: bytes | None = None
    alarm: str | None = None  # alarm category when this event needs an operator
    summary: str | None = None  # one line for the alarm list
    clock_untrusted: bool = False
    cell: str | None = None  # grid cell of the position (set by the ingest from the GeoJSON grid)
    node: str | None = None  # the sensor node the event is about, when it names one
    node_status: dict[str, Any] | None = None  # a node_status body (schema v2)

    @property
    def alarm_time_ms(self) -> int:
        """Start of the one-minute timer: the event time, or receipt when the clock is untrusted."""
        return self.rx_ms if self.clock_untrusted else self.ts_ms


@dataclass(slots=True)
class Quarantined:
    """A message the archive refused, kept (bounded) with why."""

    rx_ms: int
    topic: str
    device: str | None
    reason: str
    detail: str
    size: int
    head: bytes


@dataclass(slots=True)
class StatusDoc:
    """A device's retained state or periodic health document."""

    device: str
    kind: str  # state | health
    doc: dict[str, Any]
    rx_ms: int


@dataclass(slots=True)
class Reply:
    """A gateway's answer to a command (``<prefix>/<device>/reply/<name>``)."""

    device: str
    name: str
    correlation: str | None  # the request's MQTT correlation data, as text
    doc: dict[str, Any]
    rx_ms: int


Classified = EventRow | Quarantined | StatusDoc | Reply


@dataclass(frozen=True, slots=True)
class Limits:
    """The checks that depend on configuration."""

    max_payload_bytes: int = 96 * 1024
    future_tolerance_ms: int = 300_000
    min_event_ms: int = 1_577_836_800_000  # 2020-01-01


def classify(topic: str, payload: bytes, content_type: str | None, rx_ms: int,
             limits: Limits = Limits(), prefix: str = "edgepost/v1",
             correlation: bytes | None = None) -> Classified:
    """Decode and check one message. Never raises."""
    try:
        return _classify(topic, payload, content_type, rx_ms, limits, prefix, correlation)
    except Exception as exc:  # a bug here must quarantine one message, not stop the ingest
        return Quarantined(rx_ms, _text(str(topic)[:256]), None, R_UNDECODABLE,
                           f"classifier failed: {type(exc).__name__}: {exc}"[:500],
                           len(payload), bytes(payload[:QUARANTINE_HEAD]))


def _classify(topic: str, payload: bytes, content_type: str | None, rx_ms: int,
              limits: Limits, prefix: str, correlation: bytes | None = None) -> Classified:
    def bad(reason: str, detail: str, device: str | None = None) -> Quarantined:
        return Quarantined(rx_ms, _text(topic[:256]), device, reason, _text(detail[:500]), len(payload),
                           bytes(payload[:QUARANTINE_HEAD]))

    parsed = parse_topic(topic, prefix)
    if parsed is None or parsed.kind not in ("event", "state", "health", "reply"):
        return bad(R_FOREIGN_TOPIC, "not an edgepost event, state, health or reply topic")
    if not DEVICE_ID_RE.match(parsed.device):
        return bad(R_BAD_DEVICE, f"device id {parsed.device[:70]!r} in the topic is invalid")
    device = parsed.device
    if len(payload) > limits.max_payload_bytes:
        return bad(R_OVERSIZED, f"{len(payload)} bytes exceeds {limits.max_payload_bytes}", device)
    try:
        fmt = Format.from_content_type(content_type, bytes(payload)) if payload else Format.CBOR
        if parsed.kind in ("state", "health"):
            return _status(device, parsed.kind, bytes(payload), fmt, rx_ms, bad)
        if parsed.kind == "reply":
            return _reply(device, parsed.name or "", bytes(payload), fmt, rx_ms, correlation, bad)
        event = decode(bytes(payload), fmt)
    except EventDecodeError as exc:
        text = str(exc)
        return bad(R_SCHEMA if "schema version" in text else R_UNDECODABLE, text, device)
    except Exception as exc:  # a codec bug must quarantine one message, not stop the ingest
        return bad(R_UNDECODABLE, f"decoder failed: {type(exc).__name__}: {exc}", device)
    if parsed.name != event.type.label:
        return bad(R_TYPE_MISMATCH,
                   f"topic says {parsed.name!r} but the payload is a {event.type.label}", device)
    if event.ts_ms < limits.min_event_ms or event.ts_ms > rx_ms + MAX_FUTURE_SKEW_MS:
        return bad(R_CLOCK, f"event time {event.ts_ms} ms is not a plausible clock", device)
    return _row_from_event(device, event, rx_ms, limits)


def _status(device: str, kind: str, payload: bytes, fmt: Format, rx_ms: int, bad: Any) -> Classified:
    if not payload:
        # An empty retained message clears the state (a decommissioned device).
        return StatusDoc(device, kind, {}, rx_ms)
    doc = load_document(payload, fmt)
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        return bad(R_UNDECODABLE, f"{kind} document must be a map with text keys", device)
    claimed = doc.get("device")
    if claimed is not None and claimed != device:
        return bad(R_DEVICE_MISMATCH, f"{kind} document names device {str(claimed)[:70]!r}, "
                                      f"topic names {device!r}", device)
    return StatusDoc(device, kind, _jsonable(doc), rx_ms)


def _reply(device: str, name: str, payload: bytes, fmt: Format, rx_ms: int,
           correlation: bytes | None, bad: Any) -> Classified:
    doc = load_document(payload, fmt) if payload else {}
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        return bad(R_UNDECODABLE, "a reply must be a map with text keys", device)
    cid = None
    if correlation:
        # The centre sends text correlation data; anything else is kept as hex.
        try:
            cid = _text(bytes(correlation).decode("utf-8"))[:128]
        except UnicodeDecodeError:
            cid = bytes(correlation).hex()[:128]
    return Reply(device, _text(name[:64]), cid, _jsonable(doc), rx_ms)


def _jsonable(value: Any) -> Any:
    """Documents go into JSON columns: byte strings become hex, enums their names."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, IntEnum):
        return value.name.lower()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # SenML records
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, float) and value != value:  # NaN has no JSON spelling
        return None
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    """PostgreSQL text and jsonb can't hold NUL: one forged character must not stall a batch."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _alarm(event: Event) -> tuple[str, str] | None:
    """(category, summary) when the event needs an operator, else None."""
    body = event.body
    if isinstance(body, ZoneIntrusion):
        return "intrusion", f"{body.cls} in zone {body.zone}"
    if isinstance(body, Loitering):
        return "loitering", f"{body.cls} loitering in {body.zone} for {body.dwell_ms // 1000} s"
    if isinstance(body, VehiclePassage) and body.watch_match and not body.preview:
        return "watch_list", f"watch-list plate {body.plate or (body.plate_hash or b'').hex()}"
    if isinstance(body, VehiclePassage) and body.plate_status is PlateStatus.ABSENT and not body.preview:
        # A covered or missing plate is what a checkpoint must flag; an unreadable one (dirty,
        # small, blurred) is stored with its crop but is no alarm: rain and night make many, and
        # an alarm for each would bury the covered plates.
        where = f"camera {body.camera}" if body.camera else "a camera"
        way = f", {body.direction.label}" if body.direction not in (None, Direction.UNKNOWN) else ""
        return "no_plate", f"{body.vehicle_class or 'vehicle'} with no plate at {where}{way}"
    if isinstance(body, SensorAlarm) and body.state is AlarmState.ACTIVE:
        what = body.kind.label
        return ("panic" if what == "panic" else "sensor_alarm"), f"{what} on node {body.node}"
    fault_cleared = getattr(body, "cleared", None)  # schema v2: the fault is over
    if isinstance(body, DeviceFault) and body.severity >= Severity.ERROR and not fault_cleared:
        return "device_fault", f"{body.component}: {body.code}"
    if isinstance(body, Crowd):
        return "crowd", f"{body.count} {body.cls} (threshold {body.threshold})"
    return None


def _free_clock(event: Event) -> bool:
    """Schema v2 flags a free-running (unsynchronised) clock: time the alarm from receipt."""
    clock = getattr(event, "clock", None)
    return clock is not None and clock.label == "free"


def _row_from_event(device: str, event: Event, rx_ms: int, limits: Limits) -> EventRow:
    body = event.body
    fields = body.fields()
    crop = fields.pop("crop", None)
    row = EventRow(id=event.id, ts_ms=event.ts_ms, device=device, seq=event.seq,
                   type=event.type.label, rx_ms=rx_ms,
                   body=json.dumps(_jsonable(fields), ensure_ascii=False, separators=(",", ":")),
                   crop=crop,
                   clock_untrusted=(_free_clock(event)
                                    or event.ts_ms > rx_ms + limits.future_tolerance_ms))
    if event.loc is not None:
        row.lat, row.lon = event.loc.lat, event.loc.lon
    for name in ("plate", "vehicle_class", "zone", "camera"):
        value = fields.get(name)
        setattr(row, name, _text(value) if value is not None else None)
    row.plate_hash, row.watch_match = fields.get("plate_hash"), fields.get("watch_match")
    direction = fields.get("direction")
    row.direction = direction.label if direction is not None else None
    node = fields.get("node")
    if isinstance(node, str):
        row.node = _text(node[:64])
        if event.type is EventType.NODE_STATUS:
            row.node_status = _jsonable(fields)
    alarm = _alarm(event)
    if alarm is not None:
        row.alarm, row.summary = alarm[0], _text(alarm[1])
    return row


def event_id_text(event_id: bytes) -> str:
    """The UUID spelling of an event id, as the API shows it."""
    return str(uuid.UUID(bytes=event_id))


__all__ = ["REASONS", "Classified", "EventRow", "EventType", "Limits", "Quarantined", "Reply", "StatusDoc",
           "classify", "event_id_text"]
