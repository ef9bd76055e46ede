"""Property tests of the codec: every event type round-trips; garbage never escapes."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.events import (
    BODY_TYPES,
    Event,
    EventDecodeError,
    Format,
    Location,
    SenMLRecord,
    decode,
    encode,
)
from gateway.events.codec import dump_document, load_document
from gateway.events.fields import Kind

text = st.text(max_size=64)
conf = st.integers(0, 1000).map(lambda p: p / 1000)
senml = st.builds(
    SenMLRecord,
    n=st.text(min_size=1, max_size=64),
    v=st.floats(allow_nan=False, allow_infinity=False, width=32),
    u=st.none() | st.text(max_size=8),
    t=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
) | st.builds(SenMLRecord, n=st.text(min_size=1, max_size=8), vb=st.booleans()) | st.builds(
    SenMLRecord, n=st.text(min_size=1, max_size=8), vs=st.text(max_size=64))


def value_strategy(f: dataclasses.Field) -> st.SearchStrategy:
    kind: Kind = f.metadata["kind"]
    return {
        Kind.TEXT: text,
        Kind.MESSAGE: st.text(max_size=256),
        Kind.UINT: st.integers(0, 2**63 - 1),
        Kind.BOOL: st.booleans(),
        Kind.BYTES: st.binary(max_size=512),
        Kind.CONF: conf,
        Kind.CONF_LIST: st.lists(conf, max_size=10).map(tuple),
        Kind.ENUM: st.sampled_from(list(f.metadata["enum"])) if f.metadata["enum"] else st.none(),
        Kind.NUMBER: st.floats(allow_nan=False, allow_infinity=False),
        Kind.SENML: st.lists(senml, min_size=1, max_size=5).map(tuple),
    }[kind]


def body_strategy(cls: type) -> st.SearchStrategy:
    kwargs = {}
    for f in dataclasses.fields(cls):
        value = value_strategy(f)
        kwargs[f.name] = value if f.metadata["required"] else st.none() | value
    strategy = st.fixed_dictionaries(kwargs)
    if cls.__name__ == "VehiclePassage":  # plate and plate_hash are exclusive; plates are short
        strategy = strategy.filter(lambda d: d["plate"] is None or d["plate_hash"] is None).map(
            lambda d: {**d, "plate": d["plate"][:16] if d["plate"] else d["plate"]})
    return strategy.map(lambda d: cls(**d))


bodies = st.one_of([body_strategy(cls) for cls in BODY_TYPES.values()])
events = st.builds(
    Event, body=bodies, id=st.binary(min_size=16, max_size=16), ts_ms=st.integers(0, 2**63 - 1),
    seq=st.integers(0, 2**63 - 1),
    loc=st.none() | st.builds(Location, st.floats(-90, 90), st.floats(-180, 180)))


@settings(max_examples=400, deadline=None)
@given(events, st.sampled_from(list(Format)))
def test_decode_inverts_encode_for_every_type(event: Event, fmt: Format) -> None:
    assert decode(encode(event, fmt), fmt) == event
    assert decode(encode(event, fmt)) == event  # format sniffed when no content type


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_rejected_cleanly(data: bytes) -> None:
    try:
        event = decode(data)
    except EventDecodeError as exc:
        assert str(exc)
    else:  # astronomically unlikely, but if it parses it must be a real event
        assert decode(encode(event)) == event


@settings(max_examples=300, deadline=None)
@given(events, st.sampled_from(list(Format)), st.data())
def test_truncated_payloads_are_rejected(event: Event, fmt: Format, data: st.DataObject) -> None:
    payload = encode(event, fmt)
    cut = data.draw(st.integers(0, len(payload) - 1))
    try:
        decode(payload[:cut], fmt)
    except EventDecodeError:
        return
    raise AssertionError(f"truncated payload ({cut}/{len(payload)} bytes) was accepted")


@settings(max_examples=300, deadline=None)
@given(events, st.data())
def test_single_byte_corruption_never_raises_anything_else(event: Event, data: st.DataObject) -> None:
    payload = bytearray(encode(event))
    i = data.draw(st.integers(0, len(payload) - 1))
    payload[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(EventDecodeError):
        decode(bytes(payload))


# Any value CBOR or JSON can carry, including what a careful encoder never writes: integers
# of any size, non-finite floats, nested containers, tagged values.
any_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(2**1100), 2**1100)
    | st.floats() | st.text(max_size=80) | st.binary(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.integers(-2, 20) | st.text(max_size=4) | st.booleans(), inner, max_size=4),
    max_leaves=12)


def replace_one(doc: Any, path: list[Any], value: Any) -> Any:
    """``doc`` with the value at ``path`` (keys and list indices) replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: replace_one(doc[head], rest, value)}
    return [replace_one(v, rest, value) if i == head else v for i, v in enumerate(doc)]


def paths(doc: Any, here: list[Any]) -> list[list[Any]]:
    """Every place in a document: map values (also a new key) and list items."""
    out = [here]
    if isinstance(doc, dict):
        out += [p for k, v in doc.items() for p in paths(v, [*here, k])]
    elif isinstance(doc, list):
        out += [p for i, v in enumerate(doc) for p in paths(v, [*here, i])]
    return out


@settings(max_examples=600, deadline=None)
@given(events, st.sampled_from(list(Format)),
       st.integers(2**1023, 2**1100) | st.floats() | any_value, st.data())
def test_any_value_anywhere_is_an_event_or_a_decode_error(event: Event, fmt: Format, value: Any,
                                                          data: st.DataObject) -> None:
    """A well-formed document with one value replaced by anything: decode returns an event
    or raises EventDecodeError, never another exception (an integer beyond the float range in
    a number field used to raise OverflowError)."""
    doc = load_document(encode(event, fmt), fmt)
    where = data.draw(st.sampled_from(paths(doc, [])))
    changed = replace_one(doc, where, value)
    try:
        payload = dump_document(changed, fmt)
    except (ValueError, TypeError, OverflowError):
        return  # JSON cannot carry it (NaN is allowed by json.dumps; bytes and int keys are not)
    with contextlib.suppress(EventDecodeError):
        decode(payload, fmt)
