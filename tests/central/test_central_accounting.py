"""Loss accounting from the archive: gaps close when late events arrive; settled gaps are lost."""

from __future__ import annotations

import time

from tests_central_helpers import passage

from central import accounting
from central.decode import StatusDoc
from central.store import Batch, Store


def health(device: str, depth: int, last_seq: int, dropped: int) -> StatusDoc:
    doc = {"ts": 1, "spool": {"depth": depth, "last_seq": last_seq, "dropped": dropped,
                              "dropped_overflow": dropped}}
    return StatusDoc(device, "health", doc, time.time_ns() // 1_000_000)


def test_out_of_order_arrivals_close_gaps_and_settled_gaps_show_drop_counters(store: Store) -> None:
    # An alarm (seq 10) arrives ahead of the backlog 4..9; 1..3 arrived before.
    store.write(Batch(events=[passage("gw-x", s, f"P{s}") for s in (1, 2, 3, 10)],
                      statuses=[health("gw-x", depth=6, last_seq=10, dropped=0)]))
    gaps = accounting.gaps(store)
    assert [(g["first"], g["last"], g["status"]) for g in gaps] == [(4, 9, "pending")]
    # the backlog arrives, except 6 and 7 which the device's spool dropped on overflow
    store.write(Batch(events=[passage("gw-x", s, f"P{s}") for s in (4, 5, 8, 9)],
                      statuses=[health("gw-x", depth=0, last_seq=10, dropped=2)]))
    gaps = accounting.gaps(store)
    assert [(g["first"], g["last"], g["status"]) for g in gaps] == [(6, 7, "lost")]
    assert gaps[0]["device_counters"] == {"dropped": 2, "dropped_overflow": 2}
    summary = accounting.summary(store)["devices"]
    assert summary == [{"device": "gw-x", "events": 8, "max_seq": 10, "missing": 2, "lost": 2}]


def test_a_device_first_seen_mid_stream_reports_the_leading_range(store: Store) -> None:
    store.write(Batch(events=[passage("gw-late", s, f"L{s}") for s in (5, 6)]))
    assert [(g["first"], g["last"], g["status"]) for g in accounting.gaps(store)] == [(1, 4, "pending")]


def test_a_gap_below_the_oldest_event_in_the_spool_is_lost_even_while_the_spool_drains(store: Store) -> None:
    doc = {"ts": 1, "spool": {"depth": 40, "oldest_seq": 6, "last_seq": 50, "dropped": 2}}
    store.write(Batch(events=[passage("gw-o", s, f"O{s}") for s in (1, 2, 5)],
                      statuses=[StatusDoc("gw-o", "health", doc, time.time_ns() // 1_000_000)]))
    assert [(g["first"], g["last"], g["status"]) for g in accounting.gaps(store)] == [(3, 4, "lost")]
