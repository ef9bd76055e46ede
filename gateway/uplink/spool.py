"""The durable event spool: an event is produced once it is committed here, and leaves only
when the broker has acknowledged it.

SQLite in WAL mode. Sequence numbers are assigned inside the same transaction that stores the
event, so they survive restarts without gaps. Bounds (count, bytes, age) are enforced on
append with an explicit overflow policy; every dropped event is counted, and the counters are
persisted with the data so health reports stay truthful across restarts.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.ratelog import RateLimitedLog

log = logging.getLogger(__name__)
_ratelog = RateLimitedLog(log)

Overflow = Literal["drop_oldest", "drop_newest"]
COUNTERS = ("last_seq", "dropped_overflow", "dropped_refused", "dropped_expired", "rejected",
            "acked")


class SpoolError(RuntimeError):
    """The spool cannot store an event (disk full, I/O error); the message says what to do."""


@dataclass(frozen=True, slots=True)
class Draft:
    """What the caller stores for a sequence number the spool hands it."""

    topic: str
    payload: bytes
    content_type: str
    priority: int
    created_ms: int


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A stored event waiting for the broker."""

    seq: int
    topic: str
    payload: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class SpoolStats:
    """Depth and counters for health reports."""

    depth: int
    bytes: int
    oldest_ms: int | None
    last_seq: int
    dropped_overflow: int
    dropped_refused: int
    dropped_expired: int
    rejected: int
    acked: int

    @property
    def dropped(self) -> int:
        """All events lost to the bounds (overflow, refused when full, expired)."""
        return self.dropped_overflow + self.dropped_refused + self.dropped_expired


class Spool:
    """Bounded, ordered, crash-safe queue of encoded events (thread-safe)."""

    def __init__(self, path: Path, *, max_events: int = 1_000_000,
                 max_bytes: int = 256 * 1024 * 1024, max_age_s: float = 30 * 86400,
                 overflow: Overflow = "drop_oldest", sync: Literal["full", "normal"] = "full"
                 ) -> None:
        self.path = Path(path)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_age_ms = int(max_age_s * 1000)
        self.overflow = overflow
        self._lock = threading.Lock()
        # Bumped whenever events are dropped, so a reader holding read-ahead copies knows
        # to re-read instead of sending events that health already counts as dropped.
        self.drop_generation = 0
        # Acknowledged by the broker, delete still batched: free space, never "dropped".
        self._acked_pending: set[int] = set()
        # The uplink has handed every event up to this seq to the broker (0 while offline).
        # Overflow never drops those: they are on the wire and will most likely be delivered,
        # so counting them as dropped would be wrong. The bounds can therefore be exceeded by
        # at most the in-flight window.
        self.sent_upto = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open(sync)
        self._counters = self._load_counters()
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool").fetchone()
        self._depth, self._bytes = int(row[0]), int(row[1])

    # --- setup -----------------------------------------------------------------
    def _open(self, sync: str) -> sqlite3.Connection:
        try:
            return self._connect(sync)
        except sqlite3.DatabaseError as exc:
            if "not a database" not in str(exc) and "malformed" not in str(exc):
                raise SpoolError(f"cannot open spool {self.path}: {exc}") from None
            # A spool damaged beyond SQLite's own recovery holds nothing we can trust;
            # keep the file for forensics and start clean rather than stop the gateway.
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            log.error("spool %s was corrupt (%s); moved to %s and started a new one",
                      self.path, exc, aside)
            return self._connect(sync)

    def _connect(self, sync: str) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        db.executescript("""
            CREATE TABLE IF NOT EXISTS spool (
                seq INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                payload BLOB NOT NULL,
                content_type TEXT NOT NULL,
                priority INTEGER NOT NULL,
                created_ms INTEGER NOT NULL,
                size INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS spool_drop_order ON spool(priority, seq);
            CREATE INDEX IF NOT EXISTS spool_age ON spool(created_ms);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """)
        return db

    def _load_counters(self) -> dict[str, int]:
        values = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {name: int(values.get(name, 0)) for name in COUNTERS}

    def _save_counters(self, *names: str) -> None:
        self._db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [(n, self._counters[n]) for n in names])

    # --- producing -----------------------------------------------------------------
    def append(self, build: Callable[[int], Draft]) -> int | None:
        """Store one event; ``build(seq)`` encodes it with its sequence number.

        Returns the sequence number once the event is durable, or None if the overflow
        policy refused it. Raises :class:`SpoolError` if the disk cannot take it.
        """
        return self.append_many([build])[0]

    def append_many(self, builders: Sequence[Callable[[int], Draft]]) -> list[int | None]:
        """Store several events in one transaction (one fsync); see :meth:`append`."""
        with self._lock:
            saved = dict(self._counters)
            depth, size = self._depth, self._bytes
            try:
                self._db.execute("BEGIN IMMEDIATE")
                out = [self._insert(build) for build in builders]
                self._save_counters(*COUNTERS)
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                self._rollback()
                self._counters, self._depth, self._bytes = saved, depth, size
                raise SpoolError(_explain(exc, self.path)) from None

    def _insert(self, build: Callable[[int], Draft]) -> int | None:
        seq = self._counters["last_seq"] + 1
        draft = build(seq)
        size = len(draft.payload)
        if not self._make_room(size, draft.priority):
            self._counters["dropped_refused"] += 1
            _ratelog.log(logging.WARNING, "refused", "spool full (%d events, %d bytes): new "
                         "event refused (policy %s); the drop counter is in health",
                         self.max_events, self.max_bytes, self.overflow)
            return None
        self._db.execute(
            "INSERT INTO spool(seq, topic, payload, content_type, priority, created_ms, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, draft.topic, draft.payload, draft.content_type, draft.priority,
             draft.created_ms, size))
        self._counters["last_seq"] = seq
        self._depth += 1
        self._bytes += size
        return seq

    def _make_room(self, size: int, priority: int) -> bool:
        """Apply the overflow policy so one more event of ``size`` fits; False = refuse it."""
        excess_n = self._depth + 1 - self.max_events
        excess_b = self._bytes + size - self.max_bytes
        if excess_n <= 0 and excess_b <= 0:
            return True
        if self._acked_pending:
            # Delivered events whose batched delete has not run yet make room first.
            freed = self._delete_acked_pending()
            excess_n -= freed[0]
            excess_b -= freed[1]
            if excess_n <= 0 and excess_b <= 0:
                return True
        if self.overflow == "drop_newest" or size > self.max_bytes:
            return False
        # Oldest first among events of the same or lower priority than the newcomer:
        # a routine reading must never push out an alarm.
        victims: list[int] = []
        freed_n = freed_b = 0
        rows = self._db.execute(
            "SELECT seq, size FROM spool WHERE priority <= ? AND seq > ? ORDER BY priority, seq",
            (priority, self.sent_upto))
        for seq, vsize in rows:
            if freed_n >= excess_n and freed_b >= excess_b:
                break
            victims.append(seq)
            freed_n += 1
            freed_b += vsize
        if freed_n < excess_n or freed_b < excess_b:
            return False
        self._db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in victims])
        self._depth -= freed_n
        self._bytes -= freed_b
        self._counters["dropped_overflow"] += freed_n
        self.drop_generation += 1
        _ratelog.log(logging.WARNING, "overflow", "spool full (%d events, %d bytes): dropping the "
                     "oldest events (policy drop_oldest); the drop counter is in health",
                     self.max_events, self.max_bytes)
        return True

    def _delete_acked_pending(self) -> tuple[int, int]:
        n = b = 0
        for seq in self._acked_pending:
            row = self._db.execute("DELETE FROM spool WHERE seq = ? RETURNING size",
                                   (seq,)).fetchone()
            if row is not None:
                n += 1
                b += row[0]
        self._acked_pending.clear()
        self._depth -= n
        self._bytes -= b
        return n, b

    # --- draining ------------------------------------------------------------------
    def claim(self, upto_seq: int, generation: int) -> bool:
        """Mark events up to ``upto_seq`` as handed to the broker, unless anything was dropped
        since the caller read them (``generation``); then it must read again."""
        with self._lock:
            if generation != self.drop_generation:
                return False
            self.sent_upto = max(self.sent_upto, upto_seq)
            return True

    def note_acked(self, seqs: Iterable[int]) -> None:
        """Record broker acknowledgements now; :meth:`remove` deletes them later in a batch."""
        with self._lock:
            new = set(seqs) - self._acked_pending
            self._acked_pending |= new
            self._counters["acked"] += len(new)

    def read_after(self, seq: int, limit: int) -> list[SpoolEntry]:
        """Up to ``limit`` events with a sequence number above ``seq``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, content_type FROM spool WHERE seq > ? "
                "ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [SpoolEntry(*row) for row in rows]

    def remove(self, acked: Iterable[int] = (), rejected: Iterable[int] = ()) -> None:
        """Delete events the broker acknowledged (or refused for good) in one transaction."""
        acked, rejected = list(acked), list(rejected)
        if not acked and not rejected:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                removed_n, removed_b = 0, 0
                for seq in (*acked, *rejected):
                    row = self._db.execute("DELETE FROM spool WHERE seq = ? RETURNING size",
                                           (seq,)).fetchone()
                    if row is not None:
                        removed_n += 1
                        removed_b += row[0]
                noted = self._acked_pending.intersection(acked)
                self._acked_pending.difference_update(acked)
                self._counters["acked"] += len(acked) - len(noted)  # noted ones were counted
                self._counters["rejected"] += len(rejected)
                self._save_counters("acked", "rejected")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                # Not fatal: the events stay and are sent again (subscribers de-duplicate).
                log.error("spool: cannot remove acknowledged events: %s", _explain(exc, self.path))
                return
            self._depth -= removed_n
            self._bytes -= removed_b

    def expire(self, now_ms: int | None = None) -> int:
        """Drop events older than ``max_age_s``; return how many."""
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - self.max_age_ms
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                rows = self._db.execute(
                    "DELETE FROM spool WHERE created_ms < ? RETURNING size", (cutoff,)).fetchall()
                self._counters["dropped_expired"] += len(rows)
                if rows:
                    self.drop_generation += 1
                self._save_counters("dropped_expired")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                log.error("spool: cannot expire old events: %s", _explain(exc, self.path))
                return 0
            self._depth -= len(rows)
            self._bytes -= sum(r[0] for r in rows)
        if rows:
            log.warning("spool: %d event(s) older than %.0f s expired", len(rows),
                        self.max_age_ms / 1000)
        return len(rows)

    def stats(self) -> SpoolStats:
        """Current depth, bytes, age of the oldest event and the counters."""
        with self._lock:
            row = self._db.execute("SELECT MIN(created_ms) FROM spool").fetchone()
            c = self._counters
            return SpoolStats(depth=self._depth, bytes=self._bytes, oldest_ms=row[0],
                              last_seq=c["last_seq"], dropped_overflow=c["dropped_overflow"],
                              dropped_refused=c["dropped_refused"],
                              dropped_expired=c["dropped_expired"], rejected=c["rejected"],
                              acked=c["acked"])

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back into the main file)."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


def _explain(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "full" in text:
        return (f"disk full: the spool at {path} cannot grow ({text}); free space on that "
                "filesystem or lower spool.max_bytes")
    if "readonly" in text or "read-only" in text:
        return f"spool {path} is read-only ({text}); check the file's owner and mount"
    return f"spool {path}: {text}"
