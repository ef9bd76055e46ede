"""Silent-node rule and the registry fields it reads (interval, position)."""

from __future__ import annotations

import pytest

from gateway.sensors.config import LivenessConfig
from gateway.sensors.keys import KeyFileError, NodeEntry, NodeKeyRegistry, parse_node_file
from gateway.sensors.liveness import Liveness

KEY = "00" * 32


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_registry_carries_interval_and_position() -> None:
    text = (f'[[nodes]]\nid = 5\nname = "n5"\nkey = "{KEY}"\ninterval_s = 60\n'
            'lat = 30.5\nlon = 120.25\n\n'
            f'[[nodes]]\nid = 6\nkey = "{KEY}"\n')
    e = parse_node_file(text, "toml")
    assert e[5].interval_s == 60 and e[5].position == (30.5, 120.25)
    assert e[6].interval_s is None and e[6].position is None
    assert KEY not in repr(e[5])
    for bad, why in (("lat = 91\nlon = 0", "lat must be"), ("lat = 1", "both lat and lon"),
                     ("interval_s = 0", "interval_s must be"), ('interval_s = "x"', "interval_s")):
        with pytest.raises(KeyFileError, match=why):
            parse_node_file(f'[[nodes]]\nid = 1\nkey = "{KEY}"\n{bad}\n', "toml")


def make(entries: dict[int, NodeEntry], **cfg: float) -> tuple[Liveness, Clock]:
    clock = Clock()
    reg = NodeKeyRegistry(entries)
    lv = Liveness(LivenessConfig(**cfg),
                  lambda: {i: reg.entry_for(i) for i in reg.node_ids()},  # type: ignore[misc]
                  monotonic=clock)
    return lv, clock


def test_one_fault_after_n_intervals_and_one_recovery() -> None:
    lv, clock = make({7: NodeEntry(b"k" * 16, "east", 10.0)}, silent_after_intervals=3)
    lv.heard(7, "east")
    clock.t += 29
    assert lv.check() == []
    clock.t += 2
    (silent,) = lv.check()
    assert (silent.node_id, silent.cleared, silent.interval_s) == (7, False, 10.0)
    assert silent.gap_s == pytest.approx(31)
    clock.t += 100
    assert lv.check() == []  # exactly once
    back = lv.heard(7, "east")
    assert back is not None and back.cleared and back.gap_s == pytest.approx(131)
    assert lv.heard(7, "east") is None  # only the first frame clears it
    assert lv.snapshot()["east"]["silent"] is False


def test_enrolled_node_never_heard_is_judged_from_start() -> None:
    lv, clock = make({8: NodeEntry(b"k" * 16, None, 5.0)}, silent_after_intervals=2)
    clock.t += 11
    (silent,) = lv.check()
    assert silent.node_id == 8 and silent.name is None
    assert lv.snapshot()["node-8"]["last_seen_s_ago"] is None


def test_fallback_interval_lengthens_never_shortens() -> None:
    lv, clock = make({9: NodeEntry(b"k" * 16, None, 10.0)})
    lv.heard(9, None)
    lv.status(9, 900, fallback=True)  # node runs on its default: no false alarm
    assert lv.interval_for(9, NodeEntry(b"k" * 16, None, 10.0)) == 900
    clock.t += 100
    assert lv.check() == []
    lv.status(9, 2, fallback=False)  # a node's own report cannot shorten the enrolled one
    assert lv.interval_for(9, NodeEntry(b"k" * 16, None, 10.0)) == 10.0


def test_unenrolled_interval_from_status_else_default() -> None:
    lv, _ = make({})
    assert lv.interval_for(3, None) == 900.0
    lv.status(3, 60, fallback=False)
    assert lv.interval_for(3, None) == 60


def test_only_fresh_authenticated_frames_count_as_heard() -> None:
    from gateway.sensors import frames
    from gateway.sensors.nodelink import NodeLinkDecoder

    key = bytes(range(32))
    heard: list[int] = []
    out: list[object] = []
    dec = NodeLinkDecoder(NodeKeyRegistry({5: (key, "n5")}), out.append, out.append,
                          on_frame=lambda node_id, name: heard.append(node_id))
    panic = frames.build_frame(frames.FrameType.ALARM, 5, 40,
                               frames.alarm_payload([(9, True, 1)]), key)
    assert dec.feed(panic * 3) == 1  # the node's three copies: one accepted
    stats = dec.stats()
    assert stats["repeats"] == 2 and stats["rejected_replay"] == 2
    old = frames.build_frame(frames.FrameType.ALARM, 5, 39,
                             frames.alarm_payload([(1, True, 1)]), key)
    dec.feed(frames.build_frame(frames.FrameType.ALARM, 5, 200,
                                frames.alarm_payload([(1, True, 1)]), key))
    dec.feed(old)  # a replay of an old recording: not a repeat, not a sign of life
    assert dec.stats()["repeats"] == 2 and dec.stats()["rejected_replay"] == 3
    forged = bytearray(panic)
    forged[-4] ^= 0x01
    dec.feed(bytes(forged))
    assert heard == [5, 5]  # the panic and seq 200 only
