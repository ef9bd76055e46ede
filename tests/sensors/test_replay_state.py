"""The replay window on disk: saved before a frame's record leaves the decoder, so a frame
accepted before a crash is refused after it (issue 10, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import parse_config
from gateway.sensors import NodeLink, NodeLinkConfig, SensorCallbacks, frames
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import NodeReading
from gateway.sensors.replay import ReplayStateError, ReplayWindow, read_state

KEY = bytes(range(32))


class _Keys:
    def key_for(self, node_id: int) -> bytes | None:
        return KEY if node_id in (17, 18) else None


def _frame(node: int, seq: int) -> bytes:
    return frames.build_frame(frames.FrameType.READINGS, node, seq,
                              frames.readings_payload([(1, seq % 1000)]), KEY)


def test_window_is_on_disk_before_the_record_is_handed_on(tmp_path: Path) -> None:
    state = tmp_path / "replay.json"
    seen_on_disk: list[dict[int, int]] = []

    def on_reading(rec: NodeReading) -> None:
        # What a crash right now would leave behind: it must already cover this frame.
        seen_on_disk.append(read_state(state))

    dec = NodeLinkDecoder(_Keys(), on_reading,
                          window=ReplayWindow(64, state_file=state))
    for seq in (5, 6, 9):
        assert dec.feed(_frame(17, seq)) == 1
    assert dec.feed(_frame(18, 1)) == 1
    assert seen_on_disk == [{17: 5}, {17: 6}, {17: 9}, {17: 9, 18: 1}]


def test_accepted_frames_are_refused_by_the_next_process(tmp_path: Path) -> None:
    state = tmp_path / "replay.json"
    first = NodeLinkDecoder(_Keys(), window=ReplayWindow(64, state_file=state))
    sent = b"".join(_frame(17, s) for s in (1, 2, 3, 4, 5))
    assert first.feed(sent) == 5
    # No save_state(), no stop(): as after kill -9.
    restored = ReplayWindow(64, state_file=state)
    restored.load(state)
    second = NodeLinkDecoder(_Keys(), window=restored)
    assert second.feed(sent) == 0
    assert second.stats()["rejected_replay"] == 5
    assert second.feed(_frame(17, 6)) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([17, 18]), st.integers(0, 300)), max_size=40),
       st.integers(1, 64))
def test_nothing_accepted_before_a_restart_is_accepted_after(
        tmp_path_factory: pytest.TempPathFactory, frames_seen: list[tuple[int, int]],
        size: int) -> None:
    state = tmp_path_factory.mktemp("replay") / "replay.json"
    before = ReplayWindow(size, state_file=state)
    accepted = [(n, s) for n, s in frames_seen if before.check_and_mark(n, s)]
    after = ReplayWindow(size, state_file=state)
    if state.exists():
        after.load(state)
    for node, seq in accepted:
        assert not after.check_and_mark(node, seq), (node, seq)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_in_the_state_file_give_a_state_or_a_clear_error(
        tmp_path_factory: pytest.TempPathFactory, junk: bytes) -> None:
    state = tmp_path_factory.mktemp("replay") / "replay.json"
    state.write_bytes(junk)
    try:
        tops = read_state(state)
    except ReplayStateError as exc:
        assert str(state) in str(exc)
    else:
        assert all(isinstance(k, int) and isinstance(v, int) for k, v in tops.items())


def _link(tmp_path: Path, state: Path, got: list[NodeReading]) -> NodeLink:
    keys = tmp_path / "nodes.toml"
    keys.write_text(f'[[nodes]]\nid = 17\nkey = "{KEY.hex()}"\n')
    cfg = NodeLinkConfig.model_validate({"name": "radio", "key_file": str(keys),
                                         "serial": {"port": str(tmp_path / "no-tty")},
                                         "replay_state_file": str(state)})
    return NodeLink(cfg, SensorCallbacks(on_node_reading=got.append))


def test_a_failing_save_is_counted_and_the_frame_still_delivered(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    got: list[NodeReading] = []
    link = _link(tmp_path, blocker / "replay.json", got)
    link._sink(_frame(17, 1))
    link._sink(_frame(17, 2))
    assert [r.seq for r in got] == [1, 2]
    assert link.counters.get("state_save_errors") == 2
    assert link.counters.get("state_load_errors") == 1  # its folder cannot be made either


def test_an_unreadable_state_file_is_reported_and_rewritten(tmp_path: Path) -> None:
    state = tmp_path / "replay.json"
    state.write_text("{not json")
    got: list[NodeReading] = []
    link = _link(tmp_path, state, got)
    assert link.counters.get("state_load_errors") == 1
    link._sink(_frame(17, 7))
    assert [r.seq for r in got] == [7]
    assert json.loads(state.read_text()) == {"17": 7}


def test_a_key_file_rewritten_with_garbage_keeps_the_keys_and_loses_no_bytes(tmp_path: Path) -> None:
    # Found by probing (session 41): garbage bytes in the key file made the key check raise
    # UnicodeDecodeError in the serial sink, and the chunk read with it never reached the decoder.
    got: list[NodeReading] = []
    link = _link(tmp_path, tmp_path / "replay.json", got)
    (tmp_path / "nodes.toml").write_bytes(b"\xff\xfe\x00\x81 garbage")
    frame = _frame(17, 1) + _frame(17, 2)
    link._next_key_check = 0.0  # the next chunk checks the key file (as every 10 s in service)
    link._sink(frame[:7])  # a frame split across reads, the check due with its first chunk
    link._sink(frame[7:])
    assert [r.seq for r in got] == [1, 2]
    assert link.keys.key_for(17) == KEY
    assert link.counters.get("key_file_errors") == 1
    link._next_key_check = 0.0
    link._sink(_frame(17, 3))  # the same bad file: reported once per change
    assert [r.seq for r in got] == [1, 2, 3] and link.counters.get("key_file_errors") == 1


def test_a_failing_key_check_still_hands_the_bytes_on(tmp_path: Path) -> None:
    got: list[NodeReading] = []
    link = _link(tmp_path, tmp_path / "replay.json", got)

    def broken(on_error: object = None) -> bool:
        raise RuntimeError("a bug in the key check")

    link.keys.reload_if_changed = broken  # type: ignore[method-assign]
    link._next_key_check = 0.0
    with pytest.raises(RuntimeError):
        link._sink(_frame(17, 4))  # the serial reader counts it as a sink error
    assert [r.seq for r in got] == [4]


def test_gateway_config_keeps_replay_state_beside_the_spool(tmp_path: Path) -> None:
    link = {"key_file": "k.toml", "serial": {"port": "loop://"}}
    cfg = parse_config({"spool": {"path": str(tmp_path / "st" / "spool.sqlite3")},
                        "sensors": {"node_links": [{**link, "name": "radio0"},
                                                   {**link, "name": "radio1"}]}})
    files = [n.replay_state_file for n in cfg.sensors.node_links]
    assert files == [tmp_path / "st" / "replay-radio0.json", tmp_path / "st" / "replay-radio1.json"]


@pytest.mark.parametrize("links", [
    [{"name": "radio"}, {"name": "radio"}],
    [{"name": "a", "replay_state_file": "r.json"}, {"name": "b", "replay_state_file": "r.json"}],
    [{"name": "../etc"}],
])
def test_node_links_cannot_share_or_escape_a_state_file(links: list[dict[str, str]]) -> None:
    from gateway.config import ConfigError

    base = {"key_file": "k.toml", "serial": {"port": "loop://"}}
    with pytest.raises(ConfigError):
        parse_config({"sensors": {"node_links": [{**base, **extra} for extra in links]}})
