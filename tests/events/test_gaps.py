"""Gap detection with late arrivals: reordering is not loss; a loss is what the device says
will never come."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.events import Gap, SequenceTracker


def test_an_alarm_ahead_of_the_backlog_is_not_a_loss() -> None:
    t = SequenceTracker()
    for seq in (1, 2, 10, 3, 4, 5, 6, 7, 8, 9):
        t.observe("gw", seq)
    assert t.open_gaps("gw") == []
    assert t.settle("gw", None) == []


def test_numbers_below_what_the_device_still_holds_are_lost() -> None:
    t = SequenceTracker()
    for seq in (1, 2, 9, 3):
        t.observe("gw", seq)
    assert t.open_gaps("gw") == [Gap("gw", 4, 8)]
    assert t.settle("gw", 6) == [Gap("gw", 4, 5)]  # 6..8 may still come
    t.observe("gw", 7)
    assert t.open_gaps("gw") == [Gap("gw", 6, 6), Gap("gw", 8, 8)]
    assert t.settle("gw", None) == [Gap("gw", 6, 6), Gap("gw", 8, 8)]
    assert t.open_gaps("gw") == []


@given(st.permutations(list(range(1, 60))))
def test_any_order_of_a_complete_stream_leaves_no_gap(order: list[int]) -> None:
    t = SequenceTracker()
    for seq in order:
        t.observe("gw", seq)
    assert t.open_gaps("gw") == [] and t.settle("gw", None) == []


@given(st.sets(st.integers(1, 80), min_size=1), st.randoms(use_true_random=False))
def test_settled_gaps_are_exactly_the_missing_numbers(seen: set[int], rnd: object) -> None:
    order = sorted(seen)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    t = SequenceTracker()
    for seq in order:
        t.observe("gw", seq)
    lost = {n for g in t.settle("gw", None) for n in range(g.first, g.last + 1)}
    assert lost == set(range(min(seen), max(seen) + 1)) - seen
