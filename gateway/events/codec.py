"""Encode and decode events: compact CBOR (RFC 8949, default) or JSON on request.

CBOR maps use small integer keys (docs/protocol.md lists them) and are written in canonical
form, so the same event always gives the same bytes (test vectors depend on that). JSON uses
field names. Decoding is strict: anything that is not exactly a valid event raises
:class:`EventDecodeError` with a message that says what is wrong, never another exception.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import uuid
from enum import StrEnum
from typing import Any

import cbor2

from gateway.events.bodies import BODY_TYPES, Body
from gateway.events.envelope import SCHEMA_VERSION, SUPPORTED_VERSIONS, Event, Location
from gateway.events.errors import EventDecodeError, EventValidationError
from gateway.events.fastbody import MISS, PLAIN, envelope_rules
from gateway.events.fastbody import decode_body as decode_plain_body
from gateway.events.fields import (
    FieldSpec,
    Kind,
    field_table,
)
from gateway.events.senml import SenMLRecord
from gateway.events.types import ClockSource, EventType, WireEnum, member_since


class Format(StrEnum):
    """Wire format of a payload, with its MQTT 5 content type."""

    CBOR = "cbor"
    JSON = "json"

    @property
    def content_type(self) -> str:
        """MQTT 5 content-type property value."""
        return "application/cbor" if self is Format.CBOR else "application/json"

    @classmethod
    def from_content_type(cls, content_type: str | None, payload: bytes) -> Format:
        """Pick the format from the content type, or sniff it when the publisher set none."""
        if content_type:
            if "cbor" in content_type:
                return cls.CBOR
            if "json" in content_type:
                return cls.JSON
        return cls.JSON if payload[:1] == b"{" else cls.CBOR


_CBOR, _JSON = Format.CBOR, Format.JSON  # plain globals: an enum member lookup costs more
_decode_cbor = PLAIN.decode_cbor

# Envelope keys in CBOR (K_CLOCK since schema v2).
K_VERSION, K_ID, K_SEQ, K_TS, K_TYPE, K_LOC, K_BODY, K_CLOCK = range(8)
ENVELOPE_NAMES = {K_VERSION: "v", K_ID: "id", K_SEQ: "seq", K_TS: "ts", K_TYPE: "type",
                  K_LOC: "loc", K_BODY: "body", K_CLOCK: "clk"}
_ENVELOPE_KEYS = frozenset(ENVELOPE_NAMES)
_ENVELOPE_REQUIRED = frozenset({K_VERSION, K_ID, K_SEQ, K_TS, K_TYPE, K_BODY})
MAX_PAYLOAD = 128 * 1024
_ENVELOPE = envelope_rules()  # the fast path's tables, every body type's


def encode(event: Event, fmt: Format = Format.CBOR) -> bytes:
    """Serialise an event; the result is at most ``MAX_PAYLOAD`` bytes."""
    version = event.version
    if fmt is Format.CBOR:
        doc: dict[Any, Any] = {K_VERSION: version, K_ID: event.id, K_SEQ: event.seq,
                               K_TS: event.ts_ms, K_TYPE: int(event.type),
                               K_BODY: _body_to_wire(event.body, cbor=True)}
        if event.loc is not None:
            doc[K_LOC] = [round(event.loc.lat * 1e6), round(event.loc.lon * 1e6)]
        if event.clock is not None:
            doc[K_CLOCK] = int(event.clock)
        return cbor2.dumps(doc, canonical=True)
    jdoc: dict[str, Any] = {"v": version, "id": str(uuid.UUID(bytes=event.id)),
                            "seq": event.seq, "ts": event.ts_ms, "type": event.type.label,
                            "body": _body_to_wire(event.body, cbor=False)}
    if event.loc is not None:
        jdoc["loc"] = {"lat": event.loc.lat, "lon": event.loc.lon}
    if event.clock is not None:
        jdoc["clk"] = event.clock.label
    return json.dumps(jdoc, ensure_ascii=False, separators=(",", ":")).encode()


def decode(payload: bytes, fmt: Format | None = None) -> Event:
    """Parse bytes from the wire into an :class:`Event`; raise ``EventDecodeError`` if invalid."""
    if type(payload) is not bytes:
        if not isinstance(payload, bytes | bytearray):
            raise EventDecodeError("payload must be bytes")
        payload = bytes(payload)
    if not payload:
        raise EventDecodeError("empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise EventDecodeError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    fmt = fmt or Format.from_content_type(None, payload)
    if fmt is _CBOR:  # what a subscriber gets for nearly every message, in one call
        event = _decode_cbor(_ENVELOPE, payload)
        if event is not MISS:
            return event  # type: ignore[no-any-return]
    # Anything else (JSON, or CBOR that is not the plain valid case) is decoded step by step,
    # each failure with its own message.
    doc = load_document(payload, fmt)
    try:
        return _event_from_doc(doc, cbor=fmt is _CBOR)
    except EventValidationError as exc:
        raise EventDecodeError(f"invalid event: {exc}") from None


def load_document(payload: bytes, fmt: Format) -> Any:
    """Parse CBOR or JSON into plain Python values, mapping every failure to EventDecodeError."""
    try:
        if fmt is _JSON:
            return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
        stream = io.BytesIO(payload)
        doc = cbor2.CBORDecoder(stream).decode()
        if stream.tell() != len(payload):
            raise EventDecodeError(f"{len(payload) - stream.tell()} trailing bytes after CBOR item")
        return doc
    except EventDecodeError:
        raise
    except RecursionError:
        raise EventDecodeError(f"{fmt.value} nested too deeply") from None
    except Exception as exc:  # the decoder libraries raise many types on garbage input
        raise EventDecodeError(f"not valid {fmt.value}: {exc}") from None


def dump_document(doc: Any, fmt: Format) -> bytes:
    """Serialise a plain document (state, health, command replies) in the given format."""
    if fmt is Format.CBOR:
        return cbor2.dumps(doc, canonical=True)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=_json_bytes).encode()


def _json_bytes(value: Any) -> str:
    """Byte strings (e.g. a snapshot JPEG) travel as base64 in JSON documents."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _reject_constant(name: str) -> Any:
    raise EventDecodeError(f"JSON constant {name} is not allowed")


def _body_to_wire(body: Body, cbor: bool) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for f in dataclasses.fields(body):
        value = getattr(body, f.name)
        if value is None:
            continue
        kind: Kind = f.metadata["kind"]
        out[f.metadata["key"] if cbor else f.name] = _value_to_wire(kind, value, cbor)
    return out


def _value_to_wire(kind: Kind, value: Any, cbor: bool) -> Any:
    if kind is Kind.CONF:
        return round(value * 1000) if cbor else value
    if kind is Kind.CONF_LIST:
        return [round(v * 1000) for v in value] if cbor else list(value)
    if kind is Kind.ENUM:
        return int(value) if cbor else value.label
    if kind is Kind.BYTES:
        return value if cbor else base64.b64encode(value).decode("ascii")
    if kind is Kind.SENML:
        return [r.to_wire(cbor) for r in value]
    return value


def _event_from_doc(doc: Any, cbor: bool) -> Event:
    if not isinstance(doc, dict):
        raise EventDecodeError(f"expected a map at the top level, got {type(doc).__name__}")
    # The general path: every check in turn, each failure with its own message.
    if cbor and _ENVELOPE_REQUIRED <= doc.keys() <= _ENVELOPE_KEYS:
        # The usual case, read by integer key without renaming the map first.
        version, raw_type, raw_body = doc[K_VERSION], doc[K_TYPE], doc[K_BODY]
        raw_id, ts, seq = doc[K_ID], doc[K_TS], doc[K_SEQ]
        raw_loc, raw_clock = doc.get(K_LOC), doc.get(K_CLOCK)
    else:
        if cbor:
            unknown = [k for k in doc if k not in ENVELOPE_NAMES]
            doc = {ENVELOPE_NAMES[k]: v for k, v in doc.items() if k in ENVELOPE_NAMES}
        else:
            unknown = [k for k in doc if k not in ENVELOPE_NAMES.values()]
        if unknown:
            raise EventDecodeError(f"unknown envelope field(s) {unknown!r}")
        missing = [n for n in ("v", "id", "seq", "ts", "type", "body") if n not in doc]
        if missing:
            raise EventDecodeError(f"missing envelope field(s): {', '.join(missing)}")
        version, raw_type, raw_body = doc["v"], doc["type"], doc["body"]
        raw_id, ts, seq = doc["id"], doc["ts"], doc["seq"]
        raw_loc, raw_clock = doc.get("loc"), doc.get("clk")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise EventDecodeError(
            f"schema version {version!r} is not supported (this decoder reads "
            f"v{SUPPORTED_VERSIONS[0]} to v{SCHEMA_VERSION}: upgrade it for newer ones)")
    event_type = _event_type(raw_type, cbor)
    body, body_version = _body_and_version(event_type, raw_body, cbor)
    event_id = _event_id(raw_id, cbor)
    loc, clock = _location(raw_loc, cbor), _clock(raw_clock, cbor)
    event = Event(body=body, id=event_id, ts_ms=ts, seq=seq, loc=loc, clock=clock)
    # what event.version says, from the version the body decoder found
    if version < SCHEMA_VERSION and max(body_version, 1 if clock is None else 2) > version:
        # A v1 document must mean exactly what it meant to a v1 reader.
        raise EventDecodeError(f"{_newer_part(event)} needs schema v{event.version}, but the "
                               f"event says v{version}")
    return event


def _clock(raw: Any, cbor: bool) -> ClockSource | None:
    if raw is None:
        return None
    try:
        if cbor:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValueError(f"clk must be an integer code, got {raw!r}")
            return ClockSource(raw)
        if not isinstance(raw, str):
            raise ValueError(f"clk must be a name, got {raw!r}")
        return ClockSource.from_label(raw)  # type: ignore[return-value]
    except ValueError as exc:
        raise EventDecodeError(f"unknown clock source: {exc}") from None


def _newer_part(event: Event) -> str:
    """Name what in ``event`` is newer than schema v1 (for the decode error)."""
    if member_since(event.type) > 1:
        return f"event type {event.type.label}"
    if event.clock is not None:
        return "envelope field clk"
    for f in dataclasses.fields(event.body):
        value = getattr(event.body, f.name)
        if value is None:
            continue
        if f.metadata["since"] > 1:
            return f"field {event.type.label}.{f.name}"
        if isinstance(value, WireEnum) and member_since(value) > 1:
            return f"{event.type.label}.{f.name} = {value.label}"
    return "the event"


def _event_type(raw: Any, cbor: bool) -> EventType:
    if cbor and type(raw) is int:
        found = EventType._value2member_map_.get(raw)
        if found is not None:
            return found  # type: ignore[return-value]
    try:
        if cbor:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValueError(f"event type must be an integer code, got {raw!r}")
            return EventType(raw)
        if not isinstance(raw, str):
            raise ValueError(f"event type must be a name, got {raw!r}")
        return EventType.from_label(raw)  # type: ignore[return-value]
    except ValueError as exc:
        raise EventDecodeError(f"unknown event type: {exc}") from None


def _event_id(raw: Any, cbor: bool) -> bytes:
    if cbor:
        if not isinstance(raw, bytes) or len(raw) != 16:
            raise EventDecodeError("event id must be 16 bytes")
        return raw
    try:
        return uuid.UUID(raw).bytes
    except (TypeError, ValueError, AttributeError):
        raise EventDecodeError(f"event id {raw!r} is not a UUID") from None


def _location(raw: Any, cbor: bool) -> Location | None:
    if raw is None:
        return None
    if cbor:
        if not (type(raw) is list and len(raw) == 2 and type(raw[0]) is int
                and type(raw[1]) is int) and (
                not isinstance(raw, list) or len(raw) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)):
            raise EventDecodeError("loc must be [lat_e6, lon_e6] integers")
        # The range is checked on the integers: one too large for a float must not reach the
        # division. (The plain case never gets here: _plain_cbor_event builds it.)
        for name, value, limit in (("lat", raw[0], 90), ("lon", raw[1], 180)):
            if not -limit * 1_000_000 <= value <= limit * 1_000_000:
                raise EventValidationError(f"location.{name} must be within +-{float(limit)}")
        return Location(raw[0] / 1e6, raw[1] / 1e6)
    if not isinstance(raw, dict) or set(raw) != {"lat", "lon"}:
        raise EventDecodeError("loc must be {\"lat\": ..., \"lon\": ...}")
    return Location(raw["lat"], raw["lon"])


# --- bodies: the fast path, else the general path --------------------------------------------


def _body_from_wire(event_type: EventType, raw: Any, cbor: bool) -> Body:
    return _body_and_version(event_type, raw, cbor)[0]


def _body_and_version(event_type: EventType, raw: Any, cbor: bool) -> tuple[Body, int]:
    """The body and the schema version it needs (what ``Body.min_version`` says)."""
    if not isinstance(raw, dict):
        raise EventDecodeError(f"{event_type.label} body must be a map")
    found = decode_plain_body(event_type, raw, cbor)
    if found is not MISS:
        return found  # type: ignore[no-any-return]
    body = _general_body(event_type, raw, cbor)
    return body, body.min_version()


def _general_body(event_type: EventType, raw: dict[Any, Any], cbor: bool) -> Body:
    """Convert what the wire form needs (permille, base64, SenML), then let the body's
    constructor check and normalise every field: every error is raised here, with its name."""
    cls = BODY_TYPES[event_type]
    table = field_table(cls)
    by_key: dict[Any, FieldSpec] = table.by_key if cbor else table.by_name  # type: ignore[assignment]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        spec = (by_key.get(key) if isinstance(key, int | str) and not isinstance(key, bool)
                else None)
        if spec is None:
            raise EventDecodeError(f"unknown field {key!r} in {event_type.label} body")
        kwargs[spec.name] = _value_from_wire(spec.kind, value, cbor,
                                             f"{event_type.label}.{spec.name}")
    return _construct(cls, event_type, kwargs)


def _construct(cls: type[Body], event_type: EventType, kwargs: dict[str, Any]) -> Body:
    """The general path: the body's constructor checks (and normalises) every field."""
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise EventDecodeError(f"{event_type.label} body: {exc}") from None


def _value_from_wire(kind: Kind, value: Any, cbor: bool, name: str) -> Any:
    if value is None:
        # null is absent, whatever the kind (the fast path reads it so too): the body's
        # constructor then names a required field that is missing. CBOR confidences used to
        # refuse null as "not a permille" while JSON ones and every other kind took it.
        return None
    if kind is Kind.CONF and cbor:
        return _permille(value, name)
    if kind is Kind.CONF_LIST and cbor:
        if not isinstance(value, list):
            raise EventDecodeError(f"{name} must be a list")
        return [_permille(v, name) for v in value]
    if kind is Kind.BYTES and not cbor:
        if not isinstance(value, str):
            raise EventDecodeError(f"{name} must be base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise EventDecodeError(f"{name} is not valid base64") from None
    if kind is Kind.SENML:
        if not isinstance(value, list):
            raise EventDecodeError(f"{name} must be a list of SenML records")
        return [SenMLRecord.from_wire(r) for r in value]
    return value


def _permille(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise EventDecodeError(f"{name} must be an integer permille 0..1000")
    return value / 1000
