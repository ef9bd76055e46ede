"""Rules for the decoder's fast path, read from the body classes' field declarations.

:mod:`gateway.events.plain_decode` checks and builds the plain valid event; it imports
nothing from the project (so that it can be compiled on its own), and gets from here, for
each body class and wire format, a :class:`~gateway.events.plain_decode.BodyRules` made from
the class's field table: the same declarations that drive the encoder, ``normalise`` and the
property tests.

It also picks which build of that module runs: the one ``scripts/build_native.sh`` compiled,
while it was built from the source beside it, else the source itself.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cbor2

from gateway.events.bodies import BODY_TYPES, Body
from gateway.events.envelope import SUPPORTED_VERSIONS, Event, Location
from gateway.events.fields import Kind, field_table
from gateway.events.senml import LABELS, SenMLRecord
from gateway.events.types import MEMBER_SINCE, ClockSource, EventType, member_since

log = logging.getLogger(__name__)
_NAME = "gateway.events.plain_decode"
SOURCE = Path(__file__).with_name("plain_decode.py")


def _load_plain_decode() -> tuple[ModuleType, bool]:
    """The fast-path module to use, and whether it is the compiled one.

    A compiled build names the SHA-256 of the source it was made from: one that no longer
    matches (the source was edited or checked out since) is set aside for the source."""
    module = importlib.import_module(_NAME)
    built_from = getattr(module, "SOURCE_SHA256", None)
    if built_from is None:
        return module, False  # no build: this is the source
    if not SOURCE.is_file():
        return module, True  # an install that kept the build only: nothing to compare with
    if built_from == hashlib.sha256(SOURCE.read_bytes()).hexdigest():
        return module, True
    log.warning("the compiled event decoder %s was built from another version of %s: "
                "running the source (run scripts/build_native.sh to rebuild it)",
                module.__file__, SOURCE.name)
    spec = importlib.util.spec_from_file_location(_NAME, SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module, False


PLAIN, COMPILED = _load_plain_decode()
MISS: Any = PLAIN.MISS

_KINDS = {Kind.TEXT: PLAIN.TEXT, Kind.MESSAGE: PLAIN.MESSAGE,
          Kind.UINT: PLAIN.UINT, Kind.BOOL: PLAIN.BOOL,
          Kind.BYTES: PLAIN.BYTES, Kind.CONF: PLAIN.CONF,
          Kind.CONF_LIST: PLAIN.CONF_LIST, Kind.ENUM: PLAIN.ENUM,
          Kind.NUMBER: PLAIN.NUMBER, Kind.SENML: PLAIN.SENML}


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The slot descriptors' setters of a frozen slots dataclass: they set a field without
    its ``__setattr__`` (which refuses) or a name lookup."""
    return tuple(cls.__dict__[name].__set__ for name in names)


def _new(cls: type) -> Any:
    """An empty instance of ``cls``, made without its ``__init__``."""
    return functools.partial(object.__new__, cls)


def _dict_setter(cls: type) -> Any:
    """The setter of the ``__dict__`` slot that instances of ``cls`` have."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get("__dict__")
        if slot is not None:
            return slot.__set__
    raise TypeError(f"{cls.__name__} instances have no __dict__")


@functools.cache
def senml_rules(cbor: bool) -> Any:
    """How a SenML record reads in one format."""
    names = ("n", "u", "v", "vs", "vb", "t")
    return PLAIN.SenMLRules(cbor, frozenset(LABELS.values() if cbor else LABELS),
                      tuple(LABELS[n] if cbor else n for n in names), _new(SenMLRecord),
                      _slot_setters(SenMLRecord, names))


def body_rules(cls: type[Body], cbor: bool) -> Any:
    """The fast-path rules of one body class in one format."""
    fields = []
    for spec in field_table(cls).fields:
        members = newer = None
        if spec.kind is Kind.ENUM:
            assert spec.enum is not None
            members = (dict(spec.enum._value2member_map_) if cbor
                       else {m.label: m for m in spec.enum})
            newer = {m: since for (enum, code), since in MEMBER_SINCE.items()
                     if enum is spec.enum for m in enum if m.value == code} or None
        fields.append(PLAIN.FieldRule(spec.key if cbor else spec.name, spec.name,
                                      _KINDS[spec.kind], spec.required, spec.since, members,
                                      newer))
    check = cls._check if cls._check is not Body._check else None
    return PLAIN.BodyRules(cbor, frozenset(f.key for f in fields), fields,
                           member_since(cls.TYPE), _new(cls), _dict_setter(cls), check,
                           senml_rules(cbor))


@functools.cache
def bodies(cbor: bool) -> dict[int, Any]:
    """Event type code -> rules of its body, for one format."""
    return {int(t): body_rules(cls, cbor) for t, cls in BODY_TYPES.items()}


@functools.cache
def envelope_rules() -> Any:
    """What the CBOR envelope's fast path needs."""
    assert {int(t) for t in EventType} == set(bodies(True))
    return PLAIN.EnvelopeRules(
        cbor2.CBORDecoder, bodies(True), frozenset(SUPPORTED_VERSIONS),
        dict(ClockSource._value2member_map_),
        _new(Location), _slot_setters(Location, ("lat", "lon")), _new(Event),
        _slot_setters(Event, ("body", "id", "ts_ms", "seq", "loc", "clock")))


def decode_body(event_type: EventType, raw: dict[Any, Any], cbor: bool) -> Any:
    """``(body, schema version)`` of a plain valid body map, or MISS."""
    return PLAIN.decode_body(bodies(cbor)[event_type.value], raw)
