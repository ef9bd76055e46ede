"""Gateway node-link decoder: garbage, replays, wrong keys, key registry, replay window."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from gateway.sensors import frames
from gateway.sensors.keys import KeyFileError, NodeKeyRegistry, parse_key_file
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import NodeAlarm, NodeReading
from gateway.sensors.replay import ReplayWindow

KEY = bytes(range(32))
OTHER = bytes(range(32, 64))


def reading_frame(node: int, seq: int, key: bytes = KEY, temp: int = 2150) -> bytes:
    return frames.build_frame(frames.FrameType.READINGS, node, seq,
                              frames.readings_payload([(1, temp), (2, 3700)]), key)


def make_decoder(**kw: object) -> tuple[NodeLinkDecoder, list[object]]:
    out: list[object] = []
    reg = NodeKeyRegistry({17: (KEY, "north"), 18: (OTHER, None)})
    return NodeLinkDecoder(reg, out.append, out.append, out.append, **kw), out  # type: ignore[arg-type]


def test_million_random_bytes_with_thousand_frames() -> None:
    rng = random.Random(20240601)
    garbage = rng.randbytes(1_000_000)
    cuts = sorted(rng.sample(range(len(garbage)), 1000))
    stream = bytearray()
    prev = 0
    valid = []
    for i, cut in enumerate(cuts):
        stream += garbage[prev:cut]
        node = 17 if i % 2 else 18
        f = reading_frame(node, 10_000 + i, KEY if node == 17 else OTHER, temp=i)
        valid.append((node, 10_000 + i, i))
        stream += f
        prev = cut
    stream += garbage[prev:]
    dec, out = make_decoder()
    pos = 0
    while pos < len(stream):  # uneven chunks, as a serial port delivers them
        n = rng.randint(1, 4096)
        dec.feed(bytes(stream[pos : pos + n]))
        pos += n
    got = [(r.node_id, r.seq, r.measurements[0].raw) for r in out if isinstance(r, NodeReading)]
    assert got == valid
    stats = dec.stats()
    assert stats["frames_ok"] == 1000
    # Every non-zero garbage byte ends up in a rejected block; zeros are just delimiters.
    assert stats["garbage_bytes"] == sum(1 for b in garbage if b)
    assert sum(v for k, v in stats.items() if k.startswith("rejected_")) > 3000


def test_replayed_frame_rejected() -> None:
    dec, out = make_decoder()
    f = reading_frame(17, 5)
    assert dec.feed(f) == 1
    assert dec.feed(f) == 0
    assert dec.stats()["rejected_replay"] == 1 and len(out) == 1


def test_wrong_key_rejected() -> None:
    dec, out = make_decoder()
    assert dec.feed(reading_frame(17, 1, key=OTHER)) == 0
    assert dec.stats()["rejected_tag"] == 1 and out == []
    # a forged frame must not poison the replay window: the real seq 1 still passes
    assert dec.feed(reading_frame(17, 1)) == 1


def test_unknown_node_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    dec, _ = make_decoder()
    with caplog.at_level(logging.WARNING):
        for seq in range(3):
            dec.feed(reading_frame(99, seq))
    assert dec.stats()["rejected_unknown_node"] == 3
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "node key file" in msgs[0]
    assert KEY.hex() not in caplog.text


def test_oversize_run_skipped_then_resync() -> None:
    dec, out = make_decoder()
    dec.feed(b"\x55" * 5000)
    dec.feed(b"\x55" * 10 + reading_frame(17, 1))
    assert len(out) == 1
    assert dec.stats()["rejected_oversize"] == 1
    assert dec.stats()["garbage_bytes"] == 5010


def test_callback_failure_does_not_stop_decoding() -> None:
    seen = []

    def bad(r: object) -> None:
        seen.append(r)
        raise RuntimeError("consumer bug")

    dec = NodeLinkDecoder(NodeKeyRegistry({17: (KEY, None)}), bad)
    dec.feed(reading_frame(17, 1) + reading_frame(17, 2))
    assert len(seen) == 2 and dec.stats()["callback_errors"] == 2
    assert dec.stats()["frames_ok"] == 2


def test_alarm_frame_yields_one_record_per_alarm() -> None:
    dec, out = make_decoder()
    payload = frames.alarm_payload([(2, True, 1), (4, True, 1875)])
    dec.feed(frames.build_frame(frames.FrameType.ALARM, 17, 3, payload, KEY))
    assert [(a.kind, a.raised, a.value.value, a.value.unit) for a in out
            if isinstance(a, NodeAlarm)] == [("smoke", True, 1.0, ""),
                                             ("water_high", True, 1.875, "m")]


def test_replay_window_semantics(tmp_path: Path) -> None:
    w = ReplayWindow(size=8)
    assert w.check_and_mark(1, 100)
    assert w.check_and_mark(1, 98)  # late but inside the window, not seen
    assert not w.check_and_mark(1, 98)
    assert not w.check_and_mark(1, 92)  # older than the window
    assert w.check_and_mark(1, 1000)
    assert not w.check_and_mark(1, 100)
    assert w.check_and_mark(2, 0)  # windows are per node
    path = tmp_path / "replay.json"
    w.save(path)
    w2 = ReplayWindow(size=8)
    w2.load(path)
    assert not w2.check_and_mark(1, 999)  # restart does not reopen old numbers
    assert w2.check_and_mark(1, 1001)


def test_key_registry_file_formats_and_reload(tmp_path: Path) -> None:
    p = tmp_path / "keys.toml"
    p.write_text(f'[[nodes]]\nid = 17\nname = "north"\nkey = "{KEY.hex()}"\n')
    reg = NodeKeyRegistry.from_file(p)
    assert reg.key_for(17) == KEY and reg.name_for(17) == "north" and reg.key_for(18) is None
    assert KEY.hex() not in repr(reg)
    p.write_text(f'[[nodes]]\nid = 18\nkey = "{OTHER.hex()}"\n# grown\n')
    assert reg.reload_if_changed()
    assert reg.node_ids() == [18]
    p.write_text("[[nodes]]\nid = 18\nkey = 'zz'\n# broken now\n")
    assert not reg.reload_if_changed()  # bad file: old keys stay
    assert reg.key_for(18) == OTHER
    j = tmp_path / "keys.json"
    j.write_text(f'{{"nodes": [{{"id": 5, "key": "{KEY.hex()}"}}]}}')
    assert NodeKeyRegistry.from_file(j).key_for(5) == KEY


@pytest.mark.parametrize("text,msg", [
    ('[[nodes]]\nid = 0\nkey = "{k}"', "id must be"),
    ('[[nodes]]\nid = 7\nkey = "{k}ff0"', "key must be"),
    ('[[nodes]]\nid = 7\nkey = "{short}"', "key must be"),
    ('[[nodes]]\nid = 7\nkey = "{k}"\n[[nodes]]\nid = 7\nkey = "{k}"', "duplicate"),
    ('[[nodes]]\nid = 7\nkey = "{k}"\nsecret = 1', "allowed fields"),
    ('nodes = 3\n', "list"),
    ('[[nodes]]\nid = 7\nkey = {k}', "not valid toml"),
])
def test_key_file_errors_never_show_keys(text: str, msg: str) -> None:
    bad = text.format(k=KEY.hex(), short=KEY[:8].hex())
    with pytest.raises(KeyFileError) as err:
        parse_key_file(bad, "toml")
    assert msg in str(err.value)
    assert KEY.hex()[:16] not in str(err.value)
    # the decoder error (which may quote the key line) is not chained into the message
    assert err.value.__suppress_context__ or err.value.__context__ is None
