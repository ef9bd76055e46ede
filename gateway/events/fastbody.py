"""The decoder's fast path: one generated function per body class and wire format.

A subscriber decodes every event it receives. A loop that called one converter per field
spent most of its time in the calls rather than the checks, so for each body class and format
this module writes one function from the class's field table (as ``dataclasses`` writes
``__init__``). It reads every declared key, checks each value with exactly the rule
:func:`gateway.events.fields.normalise` applies, converts it to what ``normalise`` would
return, works out the schema version the body needs (as ``Body.min_version`` does), and
builds the body without checking its fields a second time; the cross-field rules (``_check``)
still run.

It accepts only the plain, valid case. Anything else (an unknown key, a key of the wrong type,
a wrong type or range, null for a required field, base64 or a non-lower-case enum name in
JSON) returns :data:`MISS`, and the codec's general path decodes it through the body's
constructor, so every error keeps its message. ``tests/events/test_decode_fast_path.py``
checks on arbitrary maps that both paths give the same body, version or error.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import Any

from gateway.events.bodies import BODY_TYPES, Body
from gateway.events.fields import (
    MAX_CROP_BYTES,
    MAX_INT,
    MAX_LIST,
    MAX_MESSAGE,
    MAX_TEXT,
    FieldSpec,
    Kind,
    field_table,
)
from gateway.events.senml import LABELS, MAX_NAME, SenMLRecord
from gateway.events.types import MEMBER_SINCE, EventType, member_since

MISS: Any = object()  # "not the plain case": take the general path
BodyDecoder = Callable[[dict[Any, Any]], "tuple[Body, int] | Any"]

# Exactly what normalise() makes of a permille p (p / 1000, then rounded to 3 decimals).
PERMILLE = tuple(round(float(p / 1000) * 1000) / 1000 for p in range(1001))
_MAX_FLOAT_INT = int(sys.float_info.max)  # larger ints overflow float(): general path


def permille_list(v: Any) -> Any:
    """CBOR confidences (a list of integer permille) as normalise() stores them, or MISS."""
    if type(v) is not list or len(v) > MAX_LIST:
        return MISS
    # set(map(type, ...)), min and max run in C: no Python-level loop over the items.
    if v and (set(map(type, v)) != {int} or min(v) < 0 or max(v) > 1000):
        return MISS
    return tuple(map(PERMILLE.__getitem__, v))


def conf_list(v: Any) -> Any:
    """JSON confidences (a list of floats 0..1) as normalise() stores them, or MISS."""
    if type(v) is not list or len(v) > MAX_LIST:
        return MISS
    for c in v:  # a chained comparison, so NaN is refused too
        if type(c) is not float or not 0.0 <= c <= 1.0:
            return MISS
    return tuple(round(c * 1000) / 1000 for c in v)


def number(v: Any) -> Any:
    """A finite float as normalise() stores it, or MISS."""
    if type(v) is float:
        return v if math.isfinite(v) else MISS
    if type(v) is int and -_MAX_FLOAT_INT <= v <= _MAX_FLOAT_INT:
        return float(v)
    return MISS


@functools.cache
def senml_records(cbor: bool) -> Callable[[Any], Any]:
    """The SenML check of one wire format: a list of plain records as ``normalise`` stores
    it (a tuple of SenMLRecord), or MISS."""
    n_key, u_key, v_key, vs_key, vb_key, t_key = (
        LABELS[name] if cbor else name for name in ("n", "u", "v", "vs", "vb", "t"))
    keys = frozenset(LABELS.values() if cbor else LABELS)
    key_type = int if cbor else str  # as for bodies: True and 1.0 are not the label 1
    new = object.__new__
    put_n, put_u, put_v, put_vs, put_vb, put_t = (  # slots of a frozen dataclass
        SenMLRecord.__dict__[name].__set__ for name in ("n", "u", "v", "vs", "vb", "t"))

    def record(r: Any) -> Any:
        if type(r) is not dict or not r.keys() <= keys or set(map(type, r)) != {key_type}:
            return MISS
        get = r.get
        n, u, v, vs, vb, t = get(n_key), get(u_key), get(v_key), get(vs_key), get(vb_key), get(t_key)
        if type(n) is not str or not 0 < len(n) <= MAX_NAME:
            return MISS
        if (v is None) + (vs is None) + (vb is None) != 2:  # exactly one value
            return MISS
        if v is not None and (v := number(v)) is MISS:
            return MISS
        if vs is not None and (type(vs) is not str or len(vs) > MAX_NAME):
            return MISS
        if vb is not None and type(vb) is not bool:
            return MISS
        if u is not None and (type(u) is not str or len(u) > MAX_NAME):
            return MISS
        if t is not None and (t := number(t)) is MISS:
            return MISS
        rec = new(SenMLRecord)
        put_n(rec, n)
        put_u(rec, u)
        put_v(rec, v)
        put_vs(rec, vs)
        put_vb(rec, vb)
        put_t(rec, t)
        return rec

    def records(v: Any) -> Any:
        if type(v) is not list or not 0 < len(v) <= MAX_LIST:
            return MISS
        out = []
        for r in v:
            rec = record(r)
            if rec is MISS:
                return MISS
            out.append(rec)
        return tuple(out)

    return records


# One check per Kind, as source lines on the value variable {v}; each returns MISS or leaves
# {v} holding exactly what normalise() would store.
_CHECKS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: (f"if type({{v}}) is not str or len({{v}}) > {MAX_TEXT}: return MISS",),
    Kind.MESSAGE: (f"if type({{v}}) is not str or len({{v}}) > {MAX_MESSAGE}: return MISS",),
    Kind.UINT: (f"if type({{v}}) is not int or not 0 <= {{v}} <= {MAX_INT}: return MISS",),
    Kind.BOOL: ("if type({v}) is not bool: return MISS",),
    Kind.NUMBER: ("{v} = number({v})", "if {v} is MISS: return MISS"),
    Kind.SENML: ("{v} = senml({v})", "if {v} is MISS: return MISS"),
}
_CBOR_CHECKS: dict[Kind, tuple[str, ...]] = {
    Kind.BYTES: (f"if type({{v}}) is not bytes or len({{v}}) > {MAX_CROP_BYTES}: return MISS",),
    Kind.CONF: ("if type({v}) is not int or not 0 <= {v} <= 1000: return MISS",
                "{v} = PERMILLE[{v}]"),
    Kind.CONF_LIST: ("{v} = permille_list({v})", "if {v} is MISS: return MISS"),
    Kind.ENUM: ("{v} = {members}.get({v}, MISS) if type({v}) is int else MISS",
                "if {v} is MISS: return MISS"),
}
_JSON_CHECKS: dict[Kind, tuple[str, ...]] = {
    Kind.BYTES: ("return MISS",),  # base64 text: the general path decodes it
    Kind.CONF: ("if type({v}) is not float or not 0.0 <= {v} <= 1.0: return MISS",
                "{v} = round({v} * 1000) / 1000"),
    Kind.CONF_LIST: ("{v} = conf_list({v})", "if {v} is MISS: return MISS"),
    Kind.ENUM: ("{v} = {members}.get({v}, MISS) if type({v}) is str else MISS",
                "if {v} is MISS: return MISS"),
}


def _field_lines(i: int, spec: FieldSpec, cbor: bool, ns: dict[str, Any]) -> list[str]:
    v = f"v{i}"
    key = spec.key if cbor else spec.name
    checks = _CHECKS.get(spec.kind) or (_CBOR_CHECKS if cbor else _JSON_CHECKS)[spec.kind]
    members = f"members{i}"
    if spec.kind is Kind.ENUM:
        assert spec.enum is not None
        ns[members] = (dict(spec.enum._value2member_map_) if cbor
                       else {m.label: m for m in spec.enum})
    lines = [f"{v} = get({key!r})"]
    if spec.required:  # null or absent: the general path names the missing field
        lines.append(f"if {v} is None: return MISS")
        indent = ""
    else:
        lines.append(f"if {v} is not None:")
        indent = "    "
    lines += [indent + c.format(v=v, members=members) for c in checks]
    if spec.since > 1:
        lines.append(f"{indent}if version < {spec.since}: version = {spec.since}")
    newer = {m: since for (enum, code), since in MEMBER_SINCE.items() if enum is spec.enum
             for m in enum if m.value == code}
    if newer:
        ns[f"newer{i}"] = newer
        lines.append(f"{indent}if {v} in newer{i} and newer{i}[{v}] > version: "
                     f"version = newer{i}[{v}]")
    return lines


def build_decoder(cls: type[Body], cbor: bool) -> BodyDecoder:
    """The fast-path decoder of one body class: ``raw -> (body, schema version)`` or MISS."""
    specs = field_table(cls).fields
    ns: dict[str, Any] = {
        "MISS": MISS, "NEW": object.__new__, "CLS": cls, "PERMILLE": PERMILLE,
        "permille_list": permille_list, "conf_list": conf_list, "number": number,
        "senml": senml_records(cbor), "INT_ONLY": {int},
        "KEYS": frozenset(s.key if cbor else s.name for s in specs),
    }
    # True == 1 and 1.0 == 1 as dict keys: CBOR keys must also be ints exactly (JSON keys are
    # always text, and text never equals a field name that it is not).
    keys_ok = ("raw.keys() <= KEYS and set(map(type, raw)) == INT_ONLY" if cbor
               else "raw.keys() <= KEYS")
    body = [f"if not ({keys_ok}): return MISS", "get = raw.get",
            f"version = {member_since(cls.TYPE)}"]
    for i, spec in enumerate(specs):
        body += _field_lines(i, spec, cbor, ns)
    values = ", ".join(f"{s.name!r}: v{i}" for i, s in enumerate(specs))
    # A frozen dataclass: fill the instance dict rather than go through its __setattr__.
    body += ["obj = NEW(CLS)", f"obj.__dict__.update({{{values}}})"]
    if cls._check is not Body._check:
        body.append("obj._check()")
    body.append("return obj, version")
    name = f"decode_{cls.__name__}_{'cbor' if cbor else 'json'}"
    source = f"def {name}(raw):\n" + "\n".join(f"    {line}" for line in body) + "\n"
    exec(compile(source, f"<fastbody {name}>", "exec"), ns)  # our own source, from the table
    decoder: BodyDecoder = ns[name]
    decoder.__doc__ = source  # what runs, for whoever debugs it
    return decoder


class Decoders(dict[EventType, BodyDecoder]):
    """Event type -> the fast-path decoder of its body in one format, generated on first use
    (so importing the codec does not compile all of them: a gateway starts quicker)."""

    def __init__(self, cbor: bool) -> None:
        super().__init__()
        self.cbor = cbor

    def __missing__(self, event_type: EventType) -> BodyDecoder:
        decoder = self[event_type] = build_decoder(BODY_TYPES[event_type], self.cbor)
        return decoder
