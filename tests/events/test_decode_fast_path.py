"""The decoder's fast path (issue 16) is the strict decoder, only faster: for any body map on
the wire it returns exactly what the general path (wire conversion, then the body's
constructor) returns, or raises the same error with the same message."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.events import BODY_TYPES, EventDecodeError, Format, decode, fastbody
from gateway.events.codec import _body_and_version, _body_from_wire, _value_from_wire
from gateway.events.errors import EventValidationError
from gateway.events.fields import FieldSpec, Kind, field_table
from gateway.events.types import EventType

REPO = Path(__file__).resolve().parents[2]

# Values of every wire type, valid and not: edges of each Kind's range, wrong types, null.
scalar = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 1003), st.integers(0, 2**63 - 1), st.integers(2**63 - 2, 2**64),
    st.integers(2**1023, 2**1100), st.integers(-(2**1100), -(2**1023)),  # beyond float
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1),
    st.text(max_size=70), st.text(min_size=250, max_size=260), st.binary(max_size=80),
    st.sampled_from(["blue", "inbound", "enter", "pir", "active", "warning", "BLUE", "nope"]),
)
senml_record = st.dictionaries(
    st.sampled_from([0, 1, 2, 3, 4, 6, 9, "n", "u", "v", "vs", "vb", "t", "x"]),
    scalar, max_size=4)
wire_value = st.one_of(scalar, st.lists(st.integers(-2, 1002), max_size=6),
                       st.lists(st.floats(-0.5, 1.5), max_size=6),
                       st.lists(senml_record, max_size=3), st.lists(scalar, max_size=3))


def general_path(event_type: EventType, raw: dict[Any, Any], cbor: bool) -> Any:
    """The decoder as it was before the fast path: convert every value, then construct."""
    cls = BODY_TYPES[event_type]
    by_key = {(f.metadata["key"] if cbor else f.name): f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        f = by_key.get(key) if isinstance(key, int | str) and not isinstance(key, bool) else None
        if f is None:
            raise EventDecodeError(f"unknown field {key!r} in {event_type.label} body")
        kwargs[f.name] = _value_from_wire(f.metadata["kind"], value, cbor,
                                          f"{event_type.label}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise EventDecodeError(f"{event_type.label} body: {exc}") from None


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except (EventDecodeError, EventValidationError) as exc:
        return type(exc).__name__, str(exc)


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types (1.0 is not 1), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def valid_wire(spec: FieldSpec, cbor: bool) -> st.SearchStrategy[Any]:
    """A value of the field's Kind as a correct encoder writes it."""
    name = st.text(min_size=1, max_size=8)
    if spec.kind is Kind.SENML:
        record = (st.fixed_dictionaries({0: name, 2: st.floats(-1e6, 1e6)}) if cbor
                  else st.fixed_dictionaries({"n": name, "v": st.floats(-1e6, 1e6)}))
        return st.lists(record, min_size=1, max_size=3)
    permille = st.integers(0, 1000)
    conf = permille if cbor else st.floats(0, 1)
    enum = spec.enum
    return {
        Kind.TEXT: st.text(max_size=64), Kind.MESSAGE: st.text(max_size=256),
        Kind.UINT: st.integers(0, 2**63 - 1), Kind.BOOL: st.booleans(),
        Kind.BYTES: (st.binary(max_size=64) if cbor else
                     st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())),
        Kind.CONF: conf, Kind.CONF_LIST: st.lists(conf, max_size=8),
        Kind.ENUM: st.sampled_from([m.value if cbor else m.label for m in enum])
        if enum else st.none(),
        Kind.NUMBER: st.floats(allow_nan=False, allow_infinity=False) | st.integers(-9, 9),
    }[spec.kind]


ABSENT = object()


def body_maps(cbor: bool) -> st.SearchStrategy[tuple[EventType, dict[Any, Any]]]:
    """Body maps that are mostly right: each field absent, valid, or (rarely) anything."""
    def for_type(event_type: EventType) -> st.SearchStrategy[tuple[EventType, dict[Any, Any]]]:
        specs = field_table(BODY_TYPES[event_type]).fields
        def build(garbage: bool) -> st.SearchStrategy[dict[Any, Any]]:
            fields = {(s.key if cbor else s.name): st.one_of(
                valid_wire(s, cbor), st.just(ABSENT) if not s.required else valid_wire(s, cbor),
                *([wire_value] if garbage else [])) for s in specs}
            return st.fixed_dictionaries(fields).map(
                lambda d: {k: v for k, v in d.items() if v is not ABSENT})
        clean, dirty = build(False), build(True)
        extra = st.sampled_from([99, "bogus", True, 1.0] if cbor else ["bogus", "Plate"])
        with_extra = st.tuples(clean, extra, wire_value).map(lambda t: {**t[0], t[1]: t[2]})
        return st.one_of(clean, dirty, with_extra).map(lambda d: (event_type, d))
    return st.sampled_from(list(EventType)).flatmap(for_type)


@pytest.mark.parametrize("cbor", [True, False], ids=["cbor", "json"])
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_matches_the_general_path(cbor: bool, data: st.DataObject) -> None:
    event_type, raw = data.draw(body_maps(cbor))
    fast = outcome(_body_from_wire, event_type, raw, cbor)
    slow = outcome(general_path, event_type, raw, cbor)
    assert fast[0] == slow[0], (raw, fast, slow)
    if fast[0] != "ok":
        assert fast[1] == slow[1], raw
        return
    assert fast[1] == slow[1]
    for spec in field_table(BODY_TYPES[event_type]).fields:
        assert same(getattr(fast[1], spec.name), getattr(slow[1], spec.name)), spec.name
    # the version the decoder works out is the one the body itself says it needs
    assert _body_and_version(event_type, raw, cbor)[1] == slow[1].min_version()


@pytest.mark.parametrize("cbor", [True, False], ids=["cbor", "json"])
def test_null_is_absent_in_both_paths_whatever_the_kind(cbor: bool) -> None:
    """Hypothesis found a CBOR object event with ``conf`` null that the fast path read as absent
    and the general path refused as "not a permille" (JSON and every other kind took it)."""
    raw: dict[Any, Any] = {1: 1, 2: "", 3: 0, 4: None, 5: "", 6: None, 9: b""}
    if not cbor:
        names = {f.metadata["key"]: f.name for f in dataclasses.fields(BODY_TYPES[EventType.OBJECT])}
        raw = {names[k]: ("" if v == b"" else v) for k, v in raw.items()}
    fast = outcome(_body_from_wire, EventType.OBJECT, raw, cbor)
    slow = outcome(general_path, EventType.OBJECT, raw, cbor)
    assert fast[0] == slow[0] == "ok", (fast, slow)
    assert fast[1] == slow[1] and slow[1].conf is None
    # a required field null is missing in both, and named
    raw_required = dict(raw)
    raw_required[1 if cbor else "phase"] = None
    fast = outcome(_body_from_wire, EventType.OBJECT, raw_required, cbor)
    slow = outcome(general_path, EventType.OBJECT, raw_required, cbor)
    assert fast == slow == ("EventValidationError", "object.phase is required")


def test_integers_beyond_the_float_range_are_a_decode_error_not_an_overflow() -> None:
    """CBOR carries integers of any size: one in a number field, or as a SenML value or
    time, must be refused with a message (it used to raise OverflowError out of decode)."""
    envelope = {0: 1, 1: b"\x01" * 16, 2: 1, 3: 1}
    bodies = [(7, {1: "n", 2: 1, 3: 1, 4: 2**1100}),
              (8, {1: "n", 2: [{0: "level", 2: -(2**1100)}]}),
              (8, {1: "n", 2: [{0: "level", 2: 1.5, 6: 2**1024}]})]
    for event_type, body in bodies:
        with pytest.raises(EventDecodeError, match="must be a finite number"):
            decode(cbor2.dumps({**envelope, 4: event_type, 6: body}), Format.CBOR)
    largest = int(float(2**1023))  # still a float: accepted, as a float
    event = decode(cbor2.dumps({**envelope, 4: 7, 6: {1: "n", 2: 1, 3: 1, 4: largest}}))
    assert event.body.value == float(largest)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(lat=st.integers(-200_000_000, 200_000_000), lon=st.integers(-200_000_000, 200_000_000),
       ts=st.integers(-2, 2**64) | st.booleans(), seq=st.integers(-2, 2**64) | st.booleans())
def test_envelope_fast_path_checks_what_the_constructor_checks(lat: int, lon: int, ts: int,
                                                               seq: int) -> None:
    doc = {0: 1, 1: b"\x01" * 16, 2: seq, 3: ts, 4: 7, 5: [lat, lon], 6: {1: "n", 2: 1, 3: 1}}
    payload = cbor2.dumps(doc)
    valid = (abs(lat) <= 90_000_000 and abs(lon) <= 180_000_000
             and all(type(v) is int and 0 <= v < 2**63 for v in (ts, seq)))
    if not valid:
        with pytest.raises(EventDecodeError):
            decode(payload, Format.CBOR)
        return
    event = decode(payload, Format.CBOR)
    assert (event.seq, event.ts_ms) == (seq, ts)
    assert event.loc is not None
    assert event.loc.lat == round(lat / 1e6 * 1e6) / 1e6
    assert event.loc.lon == round(lon / 1e6 * 1e6) / 1e6


# --- the compiled build (scripts/build_native.sh) -----------------------------------------------

def source_module() -> Any:
    """plain_decode loaded from its source, whatever build the codec uses."""
    spec = importlib.util.spec_from_file_location("plain_decode_source", fastbody.SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_compiled_the_fast_path() -> None:
    """setup.sh compiles the fast path; a decoder left on the source (no compiler, or a
    build older than the source) is 2-3 times slower at the centre."""
    assert fastbody.COMPILED, ("gateway/events/plain_decode.py runs as Python: run "
                               "scripts/build_native.sh (setup.sh does)")
    assert fastbody.PLAIN.__file__.endswith(".so")


@pytest.mark.parametrize("cbor", [True, False], ids=["cbor", "json"])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_and_source_builds_agree(cbor: bool, data: st.DataObject) -> None:
    """The compiled module and its source give the same body and version, or both MISS."""
    source = source_module()
    event_type, raw = data.draw(body_maps(cbor))
    rules = fastbody.bodies(cbor)[event_type.value]
    built, plain = fastbody.PLAIN.decode_body(rules, raw), source.decode_body(rules, raw)
    assert (built is fastbody.MISS) == (plain is source.MISS), raw
    if built is not fastbody.MISS:
        assert built[1] == plain[1]
        for spec in field_table(BODY_TYPES[event_type]).fields:
            assert same(getattr(built[0], spec.name), getattr(plain[0], spec.name)), spec.name
    envelope = {0: data.draw(st.sampled_from([1, 2, 3, True])), 1: b"\x01" * 16, 2: 5, 3: 7,
                4: event_type.value, 6: raw,
                **data.draw(st.fixed_dictionaries({}, optional={5: wire_value, 7: wire_value}))}
    built_event = fastbody.PLAIN.decode_cbor_event(fastbody.envelope_rules(), envelope)
    plain_event = source.decode_cbor_event(fastbody.envelope_rules(), envelope)
    assert (built_event is fastbody.MISS) == (plain_event is source.MISS), envelope
    if built_event is not fastbody.MISS:
        assert (built_event.id, built_event.seq, built_event.ts_ms, built_event.loc,
                built_event.clock) == (plain_event.id, plain_event.seq, plain_event.ts_ms,
                                       plain_event.loc, plain_event.clock)


def test_a_build_of_another_source_is_set_aside(tmp_path: Path) -> None:
    """An edited source is never shadowed by an older build: the source runs, with a warning
    that says how to rebuild."""
    edited = tmp_path / "plain_decode.py"
    edited.write_text(fastbody.SOURCE.read_text() + "\nEDITED = True\n")
    code = ("import logging, sys; logging.basicConfig(stream=sys.stdout)\n"
            "from gateway.events import fastbody\n"
            "assert fastbody.COMPILED\n"
            f"fastbody.SOURCE = __import__('pathlib').Path({str(edited)!r})\n"
            "module, compiled = fastbody._load_plain_decode()\n"
            "print(compiled, getattr(module, 'EDITED', False), module.__file__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=True)
    assert f"False True {edited}" in done.stdout, done.stdout + done.stderr
    assert "run scripts/build_native.sh to rebuild it" in done.stdout


def test_a_build_without_its_source_beside_it_is_used() -> None:
    """An install that kept only the compiled module (no .py to compare with) still runs it."""
    code = ("from gateway.events import fastbody\n"
            "fastbody.SOURCE = fastbody.SOURCE.with_name('no_such_source.py')\n"
            "module, compiled = fastbody._load_plain_decode()\n"
            "print(compiled, module.__file__.endswith('.so'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=True)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr
