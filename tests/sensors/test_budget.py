"""The per-node event budget (gateway/sensors/budget.py) on a controlled clock."""

from __future__ import annotations

from pathlib import Path

from gateway.sensors.budget import NodeBudget
from gateway.sensors.config import NodeBudgetConfig


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_passes_then_the_rate_and_one_fault_per_episode() -> None:
    clock = Clock()
    budget = NodeBudget(NodeBudgetConfig(alarms_per_min=60, others_per_min=6, burst=3), clock)
    assert [budget.allow(7, "pir", "alarms")[0] for _ in range(3)] == [True] * 3
    allowed, change = budget.allow(7, "pir", "alarms")
    assert not allowed and change is not None and not change.cleared
    assert (change.node_id, change.name, change.lane, change.per_min) == (7, "pir", "alarms", 60)
    for _ in range(10):  # the same episode: refused, no second fault
        assert budget.allow(7, None, "alarms") == (False, None)
    clock.t += 1.0  # one token back at 60 a minute: a sustained flood still gets its rate
    assert budget.allow(7, None, "alarms") == (True, None)
    assert budget.allow(7, None, "alarms") == (False, None)
    assert budget.calmed() == [], "not calm while the bucket is not full"
    clock.t += 3.0
    (calm,) = budget.calmed()
    assert calm.cleared and calm.dropped == 12 and calm.duration_s == 4.0 and calm.name == "pir"
    assert budget.calmed() == []
    allowed, change = budget.allow(7, None, "alarms")
    assert allowed and change is None


def test_lanes_and_nodes_have_buckets_of_their_own() -> None:
    clock = Clock()
    budget = NodeBudget(NodeBudgetConfig(alarms_per_min=60, others_per_min=6, burst=2), clock)
    for _ in range(2):
        assert budget.allow(1, None, "others")[0]
    assert not budget.allow(1, None, "others")[0]
    assert budget.allow(1, None, "alarms")[0], "a node flooding readings still gets alarms through"
    assert budget.allow(2, None, "others")[0], "another node is not touched"
    clock.t += 10.0  # others refill at 6 a minute: one token per 10 s
    assert budget.allow(1, None, "others")[0]
    assert budget.calmed() == []
    clock.t += 20.0
    assert [c.lane for c in budget.calmed()] == ["others"]


def test_the_decoder_asks_before_the_window_remembers_and_never_for_replays(tmp_path: Path) -> None:
    from gateway.sensors import frames
    from gateway.sensors.keys import NodeKeyRegistry
    from gateway.sensors.nodelink import NodeLinkDecoder
    from gateway.sensors.replay import ReplayWindow

    key = bytes(range(32))
    state = tmp_path / "replay.json"
    window = ReplayWindow(64, state_file=state)
    asked: list[tuple[int, str | None, int]] = []
    allow = [True]

    def admit(node: int, name: str | None, ftype: int) -> bool:
        asked.append((node, name, ftype))
        return allow[0]

    got: list[object] = []
    dec = NodeLinkDecoder(NodeKeyRegistry({5: (key, "gate")}), got.append, got.append,
                          admit=admit, window=window)

    def alarm(seq: int) -> bytes:
        payload = frames.alarm_payload([(2, True, 0)])
        return frames.build_frame(frames.FrameType.ALARM, 5, seq, payload, key)

    assert dec.feed(alarm(1)) == 1 and asked == [(5, "gate", frames.FrameType.ALARM)]
    assert dec.feed(alarm(1)) == 0 and len(asked) == 1, "a replay spends no budget"
    saved = state.read_bytes()
    allow[0] = False
    assert dec.feed(alarm(2)) == 0 and len(asked) == 2 and len(got) == 1
    assert window.highest() == {5: 1} and state.read_bytes() == saved, "refused: no window move, no write"
    assert dec.stats()["over_budget"] == 1
    allow[0] = True
    assert dec.feed(alarm(2)) == 1 and window.highest() == {5: 2} and len(got) == 2
