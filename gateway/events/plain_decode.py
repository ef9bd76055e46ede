"""The decoder's fast path: the plain, valid event checked and built in one pass.

A subscriber decodes every event it receives, so this is the hottest code at the centre. It
reads a body map field by field from a table of rules (:class:`BodyRules`, built from the
body class's field declarations by :mod:`gateway.events.fastbody`), applies to each value
exactly the check that :func:`gateway.events.fields.normalise` applies, converts it to what
``normalise`` would store, works out the schema version the body needs, and builds the body
without checking it a second time; the envelope of a CBOR event is handled the same way.

It accepts only the plain, valid case. Anything else (an unknown key, a key of the wrong
type, a wrong type or range, null for a required field, base64 or an odd enum name in JSON, a
body whose cross-field rule fails) returns :data:`MISS`, and the codec's general path decodes
it through the constructors, so every error keeps its message.
``tests/events/test_decode_fast_path.py`` checks on arbitrary maps that both paths agree.

Why a module of its own, in plain typed Python that imports nothing from the project: setup
compiles it with mypyc (``scripts/build_native.sh``), which makes it two to three times
faster; where no C compiler is available, the same source runs as ordinary Python.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any, Final

MISS: Final[Any] = object()  # "not the plain case": take the general path

# Rule kinds (gateway.events.fields.Kind, as small integers for the compiled code).
TEXT: Final = 0
MESSAGE: Final = 1
UINT: Final = 2
BOOL: Final = 3
BYTES: Final = 4
CONF: Final = 5
CONF_LIST: Final = 6
ENUM: Final = 7
NUMBER: Final = 8
SENML: Final = 9

MAX_TEXT: Final = 64
MAX_MESSAGE: Final = 256
MAX_CROP_BYTES: Final = 64 * 1024
MAX_LIST: Final = 64
MAX_INT: Final = 2**63 - 1
MAX_NAME: Final = 64  # SenML names, units and string values
_MAX_FLOAT_INT: Final = int(1.7976931348623157e308)  # larger ints overflow float()

# Exactly what normalise() makes of a permille p (p / 1000, then rounded to 3 decimals).
PERMILLE: Final = tuple([round(float(p / 1000) * 1000) / 1000 for p in range(1001)])


class FieldRule:
    """One body field: where it is on the wire and what it accepts."""

    def __init__(self, key: Any, name: str, kind: int, required: bool, since: int,
                 members: dict[Any, Any] | None, newer: dict[Any, int] | None) -> None:
        self.key = key  # CBOR integer key, or JSON name
        self.name = name
        self.kind = kind
        self.required = required
        self.since = since  # schema version that introduced the field
        self.members = members  # ENUM: wire value -> member
        self.newer = newer  # ENUM: member -> schema version, for members added after v1


class SenMLRules:
    """How a SenML record reads in one format, and how to build one."""

    def __init__(self, cbor: bool, keys: frozenset[Any], labels: tuple[Any, ...],
                 new: Callable[[], Any], setters: tuple[Callable[[Any, Any], None], ...]) -> None:
        self.cbor = cbor
        self.keys = keys
        self.n, self.u, self.v, self.vs, self.vb, self.t = labels
        self.new = new
        self.put_n, self.put_u, self.put_v, self.put_vs, self.put_vb, self.put_t = setters


class BodyRules:
    """One body class in one format: its fields' rules and how to build an instance."""

    def __init__(self, cbor: bool, keys: frozenset[Any], fields: list[FieldRule],
                 type_since: int, new: Callable[[], Any],
                 set_dict: Callable[[Any, dict[str, Any]], None],
                 check: Callable[[Any], None] | None, senml: SenMLRules) -> None:
        self.cbor = cbor
        self.keys = keys
        self.fields = fields
        self.type_since = type_since  # schema version that introduced the event type
        self.new = new
        self.set_dict = set_dict  # a frozen dataclass: its dict is set in one go
        self.check = check  # the class's cross-field rules, if it has any
        self.senml = senml


def number(v: Any) -> Any:
    """A finite float as normalise() stores it, or MISS."""
    if type(v) is float:
        return v if math.isfinite(v) else MISS
    if type(v) is int and -_MAX_FLOAT_INT <= v <= _MAX_FLOAT_INT:
        return float(v)
    return MISS


def permille_list(v: Any) -> Any:
    """CBOR confidences (a list of integer permille) as normalise() stores them, or MISS."""
    if type(v) is not list or len(v) > MAX_LIST:
        return MISS
    out = []
    for c in v:
        if type(c) is not int or not 0 <= c <= 1000:
            return MISS
        out.append(PERMILLE[c])
    return tuple(out)


def conf_list(v: Any) -> Any:
    """JSON confidences (a list of floats 0..1) as normalise() stores them, or MISS."""
    if type(v) is not list or len(v) > MAX_LIST:
        return MISS
    out = []
    for c in v:  # a chained comparison, so NaN is refused too
        if type(c) is not float or not 0.0 <= c <= 1.0:
            return MISS
        out.append(round(c * 1000) / 1000)
    return tuple(out)


def senml_record(rules: SenMLRules, r: Any) -> Any:
    """One SenML record as normalise() stores it (a SenMLRecord), or MISS."""
    if type(r) is not dict:
        return MISS
    key_type = int if rules.cbor else str  # as for bodies: True and 1.0 are not the label 1
    for k in r:
        if type(k) is not key_type or k not in rules.keys:
            return MISS
    n, u, v = r.get(rules.n), r.get(rules.u), r.get(rules.v)
    vs, vb, t = r.get(rules.vs), r.get(rules.vb), r.get(rules.t)
    if type(n) is not str or not 0 < len(n) <= MAX_NAME:
        return MISS
    if (v is None) + (vs is None) + (vb is None) != 2:  # exactly one value
        return MISS
    if v is not None:
        v = number(v)
        if v is MISS:
            return MISS
    if vs is not None and (type(vs) is not str or len(vs) > MAX_NAME):
        return MISS
    if vb is not None and type(vb) is not bool:
        return MISS
    if u is not None and (type(u) is not str or len(u) > MAX_NAME):
        return MISS
    if t is not None:
        t = number(t)
        if t is MISS:
            return MISS
    rec = rules.new()
    rules.put_n(rec, n)
    rules.put_u(rec, u)
    rules.put_v(rec, v)
    rules.put_vs(rec, vs)
    rules.put_vb(rec, vb)
    rules.put_t(rec, t)
    return rec


def senml_records(rules: SenMLRules, v: Any) -> Any:
    """A list of plain SenML records as normalise() stores it (a tuple), or MISS."""
    if type(v) is not list or not 0 < len(v) <= MAX_LIST:
        return MISS
    out = []
    for r in v:
        rec = senml_record(rules, r)
        if rec is MISS:
            return MISS
        out.append(rec)
    return tuple(out)


def field_value(rule: FieldRule, v: Any, cbor: bool, senml: SenMLRules) -> Any:
    """A present value as normalise() stores it, or MISS."""
    kind = rule.kind
    if kind == TEXT:
        return v if type(v) is str and len(v) <= MAX_TEXT else MISS
    if kind == ENUM:
        members = rule.members
        assert members is not None
        if type(v) is not (int if cbor else str):
            return MISS
        return members.get(v, MISS)
    if kind == CONF:
        if cbor:
            return PERMILLE[v] if type(v) is int and 0 <= v <= 1000 else MISS
        return round(v * 1000) / 1000 if type(v) is float and 0.0 <= v <= 1.0 else MISS
    if kind == UINT:
        return v if type(v) is int and 0 <= v <= MAX_INT else MISS
    if kind == CONF_LIST:
        return permille_list(v) if cbor else conf_list(v)
    if kind == BOOL:
        return v if type(v) is bool else MISS
    if kind == MESSAGE:
        return v if type(v) is str and len(v) <= MAX_MESSAGE else MISS
    if kind == BYTES:  # JSON carries base64 text: the general path decodes it
        return v if cbor and type(v) is bytes and len(v) <= MAX_CROP_BYTES else MISS
    if kind == NUMBER:
        return number(v)
    if kind == SENML:
        return senml_records(senml, v)
    return MISS


def decode_body(rules: BodyRules, raw: dict[Any, Any]) -> Any:
    """``raw -> (body, schema version it needs)`` for the plain case, or MISS."""
    cbor = rules.cbor
    keys = rules.keys
    for k in raw:
        # True == 1 and 1.0 == 1 as dict keys: CBOR keys must be ints exactly (JSON keys are
        # always text, and text never equals a field name that it is not).
        if (cbor and type(k) is not int) or k not in keys:
            return MISS
    values: dict[str, Any] = {}
    version = rules.type_since
    for rule in rules.fields:
        v = raw.get(rule.key)
        if v is None:
            if rule.required:  # null or absent: the general path names the missing field
                return MISS
            values[rule.name] = None
            continue
        v = field_value(rule, v, cbor, rules.senml)
        if v is MISS:
            return MISS
        if rule.since > version:
            version = rule.since
        newer = rule.newer
        if newer is not None:
            since = newer.get(v, 1)
            if since > version:
                version = since
        values[rule.name] = v
    body = rules.new()
    rules.set_dict(body, values)
    if rules.check is not None:
        try:
            rules.check(body)
        except Exception:
            return MISS  # the general path raises it again, with its message
    return body, version


class EnvelopeRules:
    """What a CBOR envelope needs: the body rules by type code, the versions read, the
    clock codes, and how to build the frozen Location and Event."""

    def __init__(self, cbor_decoder: Callable[[Any], Any], bodies: dict[int, BodyRules],
                 versions: frozenset[int],
                 clocks: dict[int, Any], new_location: Callable[[], Any],
                 location_setters: tuple[Callable[[Any, Any], None], ...],
                 new_event: Callable[[], Any],
                 event_setters: tuple[Callable[[Any, Any], None], ...]) -> None:
        self.cbor_decoder = cbor_decoder  # cbor2.CBORDecoder
        self.bodies = bodies  # type code -> BodyRules
        self.versions = versions
        self.clocks = clocks
        self.new_location = new_location
        self.set_lat, self.set_lon = location_setters
        self.new_event = new_event
        (self.set_body, self.set_id, self.set_ts, self.set_seq, self.set_loc,
         self.set_clock) = event_setters


def decode_cbor(rules: EnvelopeRules, payload: bytes) -> Any:
    """The usual CBOR event from its bytes, or MISS (garbage, trailing bytes, or any event
    that is not the plain case). The caller has checked that ``payload`` is non-empty bytes
    within the size limit (``gateway.events.codec.decode``)."""
    stream = io.BytesIO(payload)
    try:
        doc = rules.cbor_decoder(stream).decode()
    except Exception:
        return MISS  # the general path decodes it again and says what is wrong
    if stream.tell() != len(payload):
        return MISS
    return decode_cbor_event(rules, doc)


def decode_cbor_event(rules: EnvelopeRules, doc: Any) -> Any:
    """The usual CBOR event (a decoded top-level map), or MISS.

    Keys: 0 version, 1 id, 2 seq, 3 ts, 4 type, 5 loc, 6 body, 7 clock (docs/protocol.md)."""
    if type(doc) is not dict:
        return MISS
    for k in doc:
        if type(k) is not int or not 0 <= k <= 7:
            return MISS
    version, raw_type, raw_body = doc.get(0), doc.get(4), doc.get(6)
    if type(version) is not int or type(raw_type) is not int or type(raw_body) is not dict:
        return MISS
    if version not in rules.versions or raw_type not in rules.bodies:
        return MISS
    event_id, ts, seq = doc.get(1), doc.get(3), doc.get(2)
    if (type(event_id) is not bytes or len(event_id) != 16 or type(ts) is not int
            or type(seq) is not int or not 0 <= ts <= MAX_INT or not 0 <= seq <= MAX_INT):
        return MISS
    found = decode_body(rules.bodies[raw_type], raw_body)
    if found is MISS:
        return MISS
    body, needs = found
    raw_loc = doc.get(5)
    loc = None
    if raw_loc is not None:
        if type(raw_loc) is not list or len(raw_loc) != 2:
            return MISS
        lat, lon = raw_loc[0], raw_loc[1]
        # integers of micro-degrees: the range check is exact, and e6 / 1e6 is what
        # Location.__post_init__'s rounding to 6 decimals stores
        if (type(lat) is not int or type(lon) is not int or not -90_000_000 <= lat <= 90_000_000
                or not -180_000_000 <= lon <= 180_000_000):
            return MISS
        loc = rules.new_location()
        rules.set_lat(loc, lat / 1e6)
        rules.set_lon(loc, lon / 1e6)
    raw_clock = doc.get(7)
    clock = None
    if raw_clock is not None:
        if type(raw_clock) is not int or raw_clock not in rules.clocks:
            return MISS
        clock = rules.clocks[raw_clock]
        if needs < 2:
            needs = 2
    if needs > version:
        return MISS  # a v1 document that uses something newer: the general path says what
    event = rules.new_event()
    rules.set_body(event, body)
    rules.set_id(event, event_id)
    rules.set_ts(event, ts)
    rules.set_seq(event, seq)
    rules.set_loc(event, loc)
    rules.set_clock(event, clock)
    return event
