"""The spool alone: durability, sequence numbers, bounds and the overflow policies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.uplink.spool import Draft, Spool, SpoolError


def draft(priority: int = 1, size: int = 10, created_ms: int | None = 0) -> object:
    return lambda seq: Draft("t", b"x" * size, "application/cbor", priority, created_ms)


def test_sequence_numbers_persist_without_gaps(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    assert [s.append(draft()) for _ in range(3)] == [1, 2, 3]
    s.remove([1, 2, 3])
    s.close()
    s = Spool(tmp_path / "s.db")
    assert s.append(draft()) == 4  # deletions never let a number be reused
    assert s.stats().depth == 1 and s.stats().acked == 3


def test_drop_oldest_counts_every_drop(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_events=100)
    s.append_many([draft() for _ in range(250)])
    st = s.stats()
    assert st.depth == 100 and st.dropped_overflow == 150 and st.dropped == 150
    assert [e.seq for e in s.read_after(0, 1000)] == list(range(151, 251))


def test_drop_newest_refuses_and_counts(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_events=10, overflow="drop_newest")
    seqs = s.append_many([draft() for _ in range(15)])
    assert seqs[:10] == list(range(1, 11)) and seqs[10:] == [None] * 5
    assert s.stats().dropped_refused == 5 and s.stats().depth == 10


def test_low_priority_goes_first_and_never_evicts_an_alarm(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_events=4)
    s.append_many([draft(priority=2), draft(priority=0), draft(priority=2), draft(priority=0)])
    s.append(draft(priority=2))  # an alarm evicts the oldest reading (seq 2)
    assert [e.seq for e in s.read_after(0, 10)] == [1, 3, 4, 5]
    assert s.append(draft(priority=0)) == 6  # a reading evicts the other reading (seq 4)
    s.append(draft(priority=2))  # evicts reading 6
    assert s.append(draft(priority=0)) is None  # only alarms left: the reading is refused
    assert [e.seq for e in s.read_after(0, 10)] == [1, 3, 5, 7]
    assert s.stats().dropped == 4


def test_byte_bound(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_bytes=1024)
    s.append_many([draft(size=100) for _ in range(20)])
    assert s.stats().bytes <= 1024 and s.stats().depth == 10 and s.stats().dropped_overflow == 10


def test_expiry(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_age_s=60)
    s.append_many([draft(created_ms=1_000), draft(created_ms=100_000)])
    assert s.expire(now_ms=100_000) == 1
    assert s.stats().dropped_expired == 1 and s.stats().depth == 1


def test_disk_full_is_a_clear_error_and_keeps_what_was_stored(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    s.append_many([draft() for _ in range(5)])
    # SQLite reports SQLITE_FULL exactly as on a full filesystem once the page cap is hit.
    s._db.execute(f"PRAGMA max_page_count={s._db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(SpoolError, match="disk full"):
        s.append_many([draft(size=8000) for _ in range(50)])
    st = s.stats()
    # Nothing half-written; the 50 refused events used up their numbers (a visible gap)
    # and are counted as dropped.
    assert st.depth == 5 and st.last_seq == 55 and st.dropped_disk == 50
    assert [e.seq for e in s.read_after(0, 10)] == [1, 2, 3, 4, 5]
    assert [f.code for f in s.take_faults()] == ["disk_full"]
    with pytest.raises(SpoolError):
        s.append(draft(size=8000))
    assert s.take_faults() == [], "one fault per episode, not one per event"
    s._db.execute("PRAGMA max_page_count=1000000")  # space returns
    assert s.append(draft()) == 57
    s.close()
    reopened = Spool(tmp_path / "s.db")
    assert reopened.stats().dropped_disk == 51 and reopened.append(draft()) == 58


def test_corrupt_spool_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    s = Spool(path)
    assert s.append(draft()) == 1
    assert list(tmp_path.glob("s.db.corrupt-*"))


def test_events_survive_reopen_in_order(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    s.append_many([draft() for _ in range(50)])
    s._db.close()  # no checkpoint, as after a crash
    s2 = Spool(tmp_path / "s.db")
    assert [e.seq for e in s2.read_after(0, 100)] == list(range(1, 51))
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_deletes_are_retried_and_acked_counts_once(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    s.append_many([draft() for _ in range(10)])
    # The card was remounted read-only (what ext4 does on I/O errors): deletes fail.
    s._db.execute("PRAGMA query_only=ON")
    s.note_acked([1, 2, 3, 4, 5])
    s.remove(acked=[1, 2, 3, 4, 5])
    assert s.stats().acked == 5
    assert [e.seq for e in s.read_after(0, 10)] == [6, 7, 8, 9, 10], "acked ones are not resent"
    s.remove(acked=[1, 2, 3])  # acknowledged again after a resend: still counted once
    assert s.stats().acked == 5 and s.stats().depth == 5
    s._db.execute("PRAGMA query_only=OFF")
    s.maintain()
    assert s._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0] == 5
    s.close()
    assert Spool(tmp_path / "s.db").stats().acked == 5


def test_wal_is_bounded_beside_max_bytes(tmp_path: Path) -> None:
    """Real disk use, WAL included, stays near max_bytes while events churn."""
    from gateway.uplink.spool import WAL_LIMIT_BYTES

    max_bytes = 2 * 1024 * 1024
    s = Spool(tmp_path / "s.db", max_bytes=max_bytes)
    peak = 0
    for i in range(300):
        seqs = s.append_many([draft(size=1024) for _ in range(50)])
        if i % 2:
            s.remove(acked=[q for q in seqs if q is not None][:40])
        peak = max(peak, s.stats().disk_bytes)
    # Documented bound: 1.5 x max_bytes for the main file (pages, indexes) plus the WAL.
    assert peak <= 1.5 * max_bytes + WAL_LIMIT_BYTES + 256 * 1024, peak


def test_a_clock_jump_neither_expires_nor_keeps_events_wrongly(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """An NTP step or a first GPS fix moves the wall clock by hours: ages keep counting from
    before the jump (the clock is injected; the system's cannot be set in a test)."""
    import time as real_time

    import gateway.uplink.spool as spool_mod

    s = Spool(tmp_path / "s.db", max_age_s=3600)
    s.append_many([draft(created_ms=None) for _ in range(5)])  # stamped by the spool
    jump = 10 * 86400.0

    class Jumped:
        @staticmethod
        def time() -> float:
            return real_time.time() + jump

        monotonic = staticmethod(real_time.monotonic)

    monkeypatch.setattr(spool_mod, "time", Jumped)
    assert s.expire() == 0, "a jump forward must not expire everything at once"
    assert s.stats().depth == 5
    s.append(draft(created_ms=None))  # stored after the jump: same time base as the others
    assert s.expire() == 0 and s.stats().depth == 6


def test_a_late_second_ack_after_the_delete_is_not_counted_again(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    s.append_many([draft() for _ in range(3)])
    s.remove(acked=[1, 2])
    s.maintain()
    s.remove(acked=[1, 2, 3])  # 1 and 2 were resent before their delete and acked twice
    assert s.stats().acked == 3
