"""Field descriptors: how one body field travels on the wire and what values it accepts.

A body class declares each field with :func:`wire`, giving the field's CBOR integer key and
its :class:`Kind`. The codec, the validation and the property tests are all driven by these
declarations, so adding a field is one line in ``bodies.py`` (plus docs/protocol.md).
"""

from __future__ import annotations

import dataclasses
import functools
from enum import Enum
from typing import Any, NamedTuple

from gateway.events.errors import EventValidationError
from gateway.events.numbers import finite_float
from gateway.events.senml import SenMLRecord
from gateway.events.types import MEMBER_SINCE, WireEnum

MAX_TEXT = 64
MAX_MESSAGE = 256
MAX_CROP_BYTES = 64 * 1024
MAX_LIST = 64
MAX_INT = 2**63 - 1


class Kind(Enum):
    """Wire representation of a field."""

    TEXT = "text"  # UTF-8, <= 64 characters
    MESSAGE = "message"  # UTF-8, <= 256 characters
    UINT = "uint"  # 0 .. 2**63-1
    BOOL = "bool"
    BYTES = "bytes"  # <= 64 KiB (JPEG crops, hashes)
    CONF = "conf"  # probability 0..1 with 3 decimals; CBOR carries permille as an integer
    CONF_LIST = "conf_list"  # tuple of CONF values (per-character confidences)
    ENUM = "enum"  # a WireEnum: integer code in CBOR, lower-case name in JSON
    NUMBER = "number"  # finite float
    SENML = "senml"  # tuple of SenMLRecord


def wire(key: int, kind: Kind, *, enum: type[WireEnum] | None = None, required: bool = False,
         default: Any = None, since: int = 1) -> Any:
    """Declare a body field with its CBOR key; optional fields default to ``None``.

    ``since`` is the schema version that introduced the field: an event that sets it is
    encoded with at least that version, so older decoders reject it with a clear reason
    instead of misreading it."""
    meta = {"key": key, "kind": kind, "enum": enum, "required": required, "since": since}
    if required:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class FieldSpec(NamedTuple):
    """One declared body field, read once from its dataclass metadata."""

    name: str
    key: int
    kind: Kind
    enum: type[WireEnum] | None
    required: bool
    since: int


class FieldTable(NamedTuple):
    """A body class's fields, by CBOR key and by JSON name."""

    fields: tuple[FieldSpec, ...]
    by_key: dict[int, FieldSpec]
    by_name: dict[str, FieldSpec]
    versioned: tuple[FieldSpec, ...]  # fields that can raise the schema version


@functools.cache
def field_table(cls: type) -> FieldTable:
    """The (cached) field table of a body dataclass.

    Why cached: ``dataclasses.fields()`` builds a new tuple and filters it on every call;
    decoding and versioning ask for the same few tables for every event."""
    newer = {enum for enum, _ in MEMBER_SINCE}  # enums with members added after v1
    specs = tuple(FieldSpec(f.name, f.metadata["key"], f.metadata["kind"], f.metadata["enum"],
                            f.metadata["required"], f.metadata["since"])
                  for f in dataclasses.fields(cls))
    return FieldTable(specs, {s.key: s for s in specs}, {s.name: s for s in specs},
                      tuple(s for s in specs if s.since > 1 or s.enum in newer))


def normalise(name: str, kind: Kind, enum: type[WireEnum] | None, value: Any) -> Any:
    """Check ``value`` against its kind and return its canonical in-memory form."""
    if kind in (Kind.TEXT, Kind.MESSAGE):
        limit = MAX_TEXT if kind is Kind.TEXT else MAX_MESSAGE
        if not isinstance(value, str) or len(value) > limit:
            raise EventValidationError(f"{name} must be text of at most {limit} characters")
        return value
    if kind is Kind.UINT:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
            raise EventValidationError(f"{name} must be a non-negative integer")
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise EventValidationError(f"{name} must be true or false")
        return value
    if kind is Kind.BYTES:
        if not isinstance(value, bytes | bytearray) or len(value) > MAX_CROP_BYTES:
            raise EventValidationError(f"{name} must be bytes, at most {MAX_CROP_BYTES}")
        return bytes(value)
    if kind is Kind.CONF:
        return _conf(name, value)
    if kind is Kind.CONF_LIST:
        if not isinstance(value, list | tuple) or len(value) > MAX_LIST:
            raise EventValidationError(f"{name} must be a list of at most {MAX_LIST} values")
        return tuple(_conf(name, v) for v in value)
    if kind is Kind.ENUM:
        assert enum is not None
        if isinstance(value, enum):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return enum(value)
            except ValueError:
                raise EventValidationError(f"{name}: unknown {enum.__name__} code {value}") from None
        if isinstance(value, str):
            try:
                return enum.from_label(value)
            except ValueError as exc:
                raise EventValidationError(f"{name}: {exc}") from None
        raise EventValidationError(f"{name} must be a {enum.__name__}")
    if kind is Kind.NUMBER:
        return finite_float(value, f"{name} must be a finite number")
    if kind is Kind.SENML:
        if not isinstance(value, list | tuple) or not 0 < len(value) <= MAX_LIST:
            raise EventValidationError(f"{name} must hold 1..{MAX_LIST} SenML records")
        return tuple(r if isinstance(r, SenMLRecord) else SenMLRecord.from_wire(r) for r in value)
    raise AssertionError(kind)


def _conf(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise EventValidationError(f"{name} must be a confidence between 0 and 1")
    # Three decimals is what the wire carries (permille), so the object holds exactly that.
    return round(float(value) * 1000) / 1000
