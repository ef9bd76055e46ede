"""Property tests (hypothesis) for COBS, frame building/parsing and the stream decoder."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.sensors import frames
from gateway.sensors.cobs import CobsError, cobs_decode, cobs_encode
from gateway.sensors.frames import FrameError
from gateway.sensors.keys import NodeKeyRegistry
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import NodeReading

KEY = bytes(range(32))
REG = NodeKeyRegistry({17: (KEY, None)})
readings = st.lists(st.tuples(st.integers(1, 10), st.integers(-32768, 32767)),
                    min_size=1, max_size=frames.MAX_READINGS)


@given(st.binary(max_size=1200))
def test_cobs_roundtrip(data: bytes) -> None:
    enc = cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(enc) == data


@given(st.binary(max_size=300))
def test_cobs_decode_only_raises_cobs_error(data: bytes) -> None:
    with contextlib.suppress(CobsError):
        cobs_decode(data)


@given(st.binary(max_size=80))
def test_check_raw_only_raises_frame_error(raw: bytes) -> None:
    try:
        frames.check_raw(raw, REG)
    except FrameError as exc:
        assert exc.reason in {"short", "crc", "version", "unknown_node", "tag"}


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_decoder_never_raises_and_counts_all_bytes(chunks: list[bytes]) -> None:
    dec = NodeLinkDecoder(REG)
    for c in chunks:
        dec.feed(c)
    stats = dec.stats()
    assert stats.get("frames_ok", 0) == 0  # random bytes never forge a tag
    data = b"".join(chunks)
    complete = data[: data.rfind(b"\x00") + 1] if b"\x00" in data else b""
    pending = len(data) - len(complete)
    garbage = stats.get("garbage_bytes", 0)
    assert garbage <= sum(1 for b in data if b)
    # nothing is lost silently: what is not counted is waiting for a delimiter
    assert garbage + pending >= sum(1 for b in complete if b)


@settings(max_examples=200)
@given(st.integers(1, 0xFFFE), st.integers(0, 2**32 - 1), readings)
def test_build_then_decode_roundtrip(node: int, seq: int, items: list[tuple[int, int]]) -> None:
    out: list[object] = []
    dec = NodeLinkDecoder(NodeKeyRegistry({node: (KEY, None)}), out.append)
    wire = frames.build_frame(frames.FrameType.READINGS, node, seq,
                              frames.readings_payload(items), KEY)
    assert len(wire) <= frames.MAX_WIRE_LEN
    assert dec.feed(wire) == 1
    (rec,) = out
    assert isinstance(rec, NodeReading) and (rec.node_id, rec.seq) == (node, seq)
    assert [(m.raw) for m in rec.measurements] == [v for _, v in items]


@settings(max_examples=300)
@given(readings, st.data())
def test_any_bit_flip_is_rejected(items: list[tuple[int, int]], data: st.DataObject) -> None:
    raw = bytearray(frames.build_raw(1, 17, 9, frames.readings_payload(items), KEY))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    dec = NodeLinkDecoder(REG)
    assert dec.feed(b"\x00" + cobs_encode(bytes(raw)) + b"\x00") == 0
    assert dec.stats().get("frames_ok", 0) == 0
