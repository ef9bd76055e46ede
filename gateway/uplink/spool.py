"""The durable event spool: an event is produced once it is committed here, and leaves only
when the broker has acknowledged it.

SQLite in WAL mode. Sequence numbers are assigned inside the same transaction that stores the
event, so they survive restarts without gaps, and a sequence mark beside the file
(:mod:`gateway.uplink.seqmark`) keeps them moving forward even when the file itself is lost.
Bounds (count, bytes, age) are enforced on append with an explicit overflow policy; every
dropped event is counted, and the counters are persisted with the data so health reports stay
truthful across restarts.

Damage and a full disk are normal events here, not crashes:

* A damaged file (at open, or a bad page met while running) is moved aside, every readable
  row is salvaged into a new file with its original sequence number
  (:mod:`gateway.uplink.spool_salvage`), the unreadable ones are counted as dropped, and
  numbering continues above every number ever reserved. A :class:`SpoolFault` says so.
* An event a full disk refuses still consumes its sequence number (so the loss is a visible
  gap) and is counted in ``dropped_disk``; one :class:`SpoolFault` (disk_full) is raised per
  episode. Its event is kept in memory (:meth:`Spool.append_memory`) and sent from there.
* Deletes of acknowledged events that fail are retried; each event is counted as acked once.

Disk use: the main file holds at most ``max_bytes`` of payload plus SQLite's page and index
overhead (measured ~1.3x for 1 KiB events), and the write-ahead log is checkpointed every
``WAL_AUTOCHECKPOINT_PAGES`` and truncated to ``WAL_LIMIT_BYTES`` after each checkpoint.
"""

from __future__ import annotations

import collections
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
from gateway.uplink.seqmark import BLOCK, SeqMark
from gateway.uplink.spool_salvage import salvage

log = logging.getLogger(__name__)
_ratelog = RateLimitedLog(log)

Overflow = Literal["drop_oldest", "drop_newest"]
COUNTERS = ("last_seq", "dropped_overflow", "dropped_refused", "dropped_expired", "rejected",
            "acked", "dropped_disk", "dropped_corrupt")
CLOCK_JUMP_S = 60.0  # wall and monotonic time disagreeing by more than this is a clock jump
WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: a checkpoint every ~4 MiB of WAL
WAL_LIMIT_BYTES = 4 * 1024 * 1024  # the WAL file is truncated back to this after a checkpoint
MEMORY_MAX_EVENTS = 64  # events kept only in RAM (faults about the disk itself), at most
ACKED_MEMORY = 65536  # deleted acked seqs remembered, far more than any window in flight
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class SpoolError(RuntimeError):
    """The spool cannot store an event (disk full, I/O error); the message says what to do."""


@dataclass(frozen=True, slots=True)
class Draft:
    """What the caller stores for a sequence number the spool hands it."""

    topic: str
    payload: bytes
    content_type: str
    priority: int
    created_ms: int | None = None  # None: the spool's own store time (the usual case)


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A stored event waiting for the broker."""

    seq: int
    topic: str
    payload: bytes
    content_type: str
    priority: int = 1


@dataclass(frozen=True, slots=True)
class SpoolFault:
    """Something happened to the spool that the centre must hear about (a device_fault)."""

    code: Literal["spool_corrupt", "spool_missing", "disk_full", "write_failed"]
    message: str


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
    dropped_disk: int = 0
    dropped_corrupt: int = 0
    disk_bytes: int = 0
    # Lowest seq still waiting (None: nothing waits). A subscriber that has not seen a number
    # below it will never see it: it was delivered to the broker or counted as dropped.
    oldest_seq: int | None = None

    @property
    def dropped(self) -> int:
        """All events lost: bounds (overflow, refused when full, expired), disk, damage."""
        return (self.dropped_overflow + self.dropped_refused + self.dropped_expired
                + self.dropped_disk + self.dropped_corrupt)


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
        self._sync = sync
        self._lock = threading.Lock()
        # Bumped whenever events are dropped, so a reader holding read-ahead copies knows
        # to re-read instead of sending events that health already counts as dropped.
        self.drop_generation = 0
        # Acknowledged by the broker, delete not done yet (batched, or failed and retried):
        # never sent again, never "dropped", counted as acked exactly once.
        self._acked_pending: set[int] = set()
        # Recently deleted acknowledged events: a late second PUBACK for one (it was resent
        # before its delete ran) must not count it as acked again.
        self._acked_done: collections.deque[int] = collections.deque(maxlen=ACKED_MEMORY)
        self._acked_done_set: set[int] = set()
        # Events the uplink has handed to the broker and not yet seen acknowledged (empty
        # while offline). Overflow never drops those: they are on the wire and will most
        # likely be delivered, so counting them as dropped would be wrong. The bounds can
        # therefore be exceeded by at most the in-flight window.
        self._on_wire: set[int] = set()
        # Highest priority appended since the uplink last asked: lets it put an alarm ahead
        # of read-ahead copies of lower-priority events.
        self._urgent = -1
        self._memory: dict[int, SpoolEntry] = {}
        # Ages are measured on a wall clock corrected for jumps seen while running (an NTP
        # step, a GPS fix after a free-running start): without it a jump forward would
        # expire the whole spool at once, and a jump back would keep events too long.
        self._clock_offset_ms = 0
        self._last_clock: tuple[float, float] | None = None
        self._faults: list[SpoolFault] = []
        self._disk_full = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._mark = SeqMark(self.path.with_name(self.path.name + ".seq"))
        self._counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._depth = self._bytes = 0
        existed = self.path.exists()
        try:
            self._db = self._connect()
            self._load()
            if not existed and self._mark.mark.reserved:
                self._lost_file()
        except sqlite3.DatabaseError as exc:
            if _error_name(exc) not in _CORRUPT:
                raise SpoolError(f"cannot open spool {self.path}: {exc}") from None
            self._recover(exc)
        self._settle_sequence()

    # --- setup -----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self._sync == 'full' else 'NORMAL'}")
            db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
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
                CREATE TABLE IF NOT EXISTS counters (
                    name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _load(self) -> None:
        values = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        self._counters = {name: int(values.get(name, 0)) for name in COUNTERS}
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool").fetchone()
        self._depth, self._bytes = int(row[0]), int(row[1])

    def _settle_sequence(self) -> None:
        """Never hand out a number at or below one already used (the mark's floor)."""
        self._counters["last_seq"] = max(self._counters["last_seq"], self._mark.mark.floor)
        self._reserve(self._counters["last_seq"] + 1)

    def _reserve(self, upto: int) -> None:
        """Make sure ``upto`` is covered by a durable reservation before it is used."""
        if upto <= self._mark.mark.reserved - BLOCK // 2:
            return
        try:
            self._mark.store(upto + BLOCK, self._mark.mark.floor)
        except OSError as exc:
            # Without the mark the spool still numbers correctly while its file is intact;
            # only the "survives loss of the file" promise is weakened, so say it loudly.
            _ratelog.log(logging.ERROR, "mark", "cannot write the sequence mark %s (%s): "
                         "sequence numbers may repeat if the spool file is lost",
                         self._mark.path, exc)

    def _now_ms(self) -> int:
        """Wall-clock milliseconds, with jumps since start taken out (lock held)."""
        wall, mono = time.time(), time.monotonic()
        if self._last_clock is not None:
            drift = (wall - self._last_clock[0]) - (mono - self._last_clock[1])
            if abs(drift) > CLOCK_JUMP_S:
                self._clock_offset_ms -= int(drift * 1000)
                log.warning("spool: the system clock jumped by %+.0f s; event ages keep "
                            "counting from before the jump", drift)
        self._last_clock = (wall, mono)
        return int(wall * 1000) + self._clock_offset_ms

    def _save_counters(self, *names: str) -> None:
        self._db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [(n, self._counters[n]) for n in names])

    # --- damage -----------------------------------------------------------------------
    def _recover(self, exc: sqlite3.Error) -> None:
        """Move the damaged file aside, salvage what is readable, continue numbering above
        every reserved number, and queue a fault saying what was lost."""
        with contextlib.suppress(Exception):  # the old handle may be unusable; only close it
            self._db.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.time_ns()}")
        self.path.rename(aside)
        for suffix in ("-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.rename(Path(str(aside) + suffix))
        reserved = self._mark.mark.reserved
        found = salvage(aside, reserved)
        old = {name: int(found.counters.get(name, 0)) for name in COUNTERS}
        self._db = self._connect()
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany(
            "INSERT OR IGNORE INTO spool(seq, topic, payload, content_type, priority, "
            "created_ms, size) VALUES (?, ?, ?, ?, ?, ?, ?)", found.rows)
        # Counters survive where they were readable; the rest restart from the salvage.
        kept = max((r[0] for r in found.rows), default=0)
        self._counters = {**old, "last_seq": max(old["last_seq"], reserved, kept,
                                                 self._counters["last_seq"])}
        self._counters["dropped_corrupt"] += found.unreadable
        self._save_counters(*COUNTERS)
        self._db.execute("COMMIT")
        self._depth = len(found.rows)
        self._bytes = sum(r[6] for r in found.rows)
        self._acked_pending.clear()
        self.drop_generation += 1
        known = max(old["last_seq"], kept)
        skipped = (f"; seq {known + 1}..{reserved} skipped (reserved ahead, unused or lost)"
                   if reserved > known else "")
        # Short enough for the event's 256-character message: the figures come first.
        message = (f"spool damaged ({exc}): salvaged {len(found.rows)}, unreadable "
                   f"{found.unreadable} (counted as dropped); next seq "
                   f"{self._counters['last_seq'] + 1}{skipped}; kept as {aside.name}")
        log.error("%s (damaged file: %s)", message, aside)
        self._faults.append(SpoolFault("spool_corrupt", message))
        try:
            self._mark.store(self._counters["last_seq"] + BLOCK, self._counters["last_seq"])
        except OSError as mark_exc:
            log.error("cannot update the sequence mark %s: %s", self._mark.path, mark_exc)

    def _lost_file(self) -> None:
        """The spool file is gone but its mark is not: continue above every reserved number."""
        reserved = self._mark.mark.reserved
        self._counters["last_seq"] = reserved
        message = (f"spool file was missing: a new one was started; events it held are lost "
                   f"and seq up to {reserved} is skipped; next seq {reserved + 1}")
        log.error("%s (%s)", message, self.path)
        self._faults.append(SpoolFault("spool_missing", message))

    def _guarded(self, work: Callable[[], object]) -> object:
        """Run ``work`` (lock held); a damaged page met on the way is recovered from, once."""
        try:
            return work()
        except sqlite3.DatabaseError as exc:
            if _error_name(exc) not in _CORRUPT:
                raise
            self._rollback()
            self._recover(exc)
            return work()

    def take_faults(self) -> list[SpoolFault]:
        """Faults raised since the last call (the service turns them into device_fault)."""
        with self._lock:
            faults, self._faults = self._faults, []
        return faults

    # --- producing -----------------------------------------------------------------
    def append(self, build: Callable[[int], Draft]) -> int | None:
        """Store one event; ``build(seq)`` encodes it with its sequence number.

        Returns the sequence number once the event is durable, or None if the overflow
        policy refused it. Raises :class:`SpoolError` if the disk cannot take it.
        """
        return self.append_many([build])[0]

    def append_many(self, builders: Sequence[Callable[[int], Draft]]) -> list[int | None]:
        """Store several events in one transaction (one fsync); see :meth:`append`.

        If the disk refuses them, their sequence numbers are used up all the same and they
        are counted in ``dropped_disk`` (a subscriber sees the gap), then SpoolError.
        """
        with self._lock:
            self._retry_deletes()
            saved = dict(self._counters)
            depth, size = self._depth, self._bytes

            def work() -> list[int | None]:
                self._reserve(self._counters["last_seq"] + len(builders))
                self._db.execute("BEGIN IMMEDIATE")
                out = [self._insert(build) for build in builders]
                self._save_counters(*COUNTERS)
                self._db.execute("COMMIT")
                return out

            try:
                result: list[int | None] = self._guarded(work)  # type: ignore[assignment]
            except sqlite3.Error as exc:
                self._rollback()
                self._counters, self._depth, self._bytes = saved, depth, size
                self._lost_to_disk(len(builders), exc)
                raise SpoolError(_explain(exc, self.path)) from None
            except BaseException:  # e.g. a builder that cannot encode: store none of them
                self._rollback()
                self._counters, self._depth, self._bytes = saved, depth, size
                raise
            if self._disk_full:
                self._disk_full = False
                log.warning("spool %s: the disk takes events again (%d lost while it did "
                            "not, counted in dropped_disk)", self.path,
                            self._counters["dropped_disk"])
            return result

    def _lost_to_disk(self, n: int, exc: sqlite3.Error) -> None:
        """Burn the sequence numbers of ``n`` events the disk refused, and count them."""
        first = self._counters["last_seq"] + 1
        self._counters["last_seq"] += n
        self._counters["dropped_disk"] += n
        self.drop_generation += 1
        try:
            # In place and pre-allocated: works on a full disk. A restart resumes above it.
            self._mark.store(self._counters["last_seq"] + BLOCK, self._counters["last_seq"])
        except OSError as mark_exc:
            log.error("cannot record lost sequence numbers in %s: %s", self._mark.path,
                      mark_exc)
        if not self._disk_full:
            self._disk_full = True
            self._faults.append(SpoolFault(
                "disk_full" if "full" in str(exc) else "write_failed",
                f"{_explain(exc, self.path)}; events from #{first} on are lost until the "
                "spool can write again (counted in spool.dropped_disk)"))

    def append_memory(self, build: Callable[[int], Draft]) -> int:
        """Number an event and keep it in memory only (for faults about the disk itself).

        The number is made durable in the sequence mark (which works on a full disk), so it
        is never reused; the event itself is lost if the gateway stops before it is sent.
        """
        with self._lock:
            seq = self._counters["last_seq"] + 1
            self._counters["last_seq"] = seq
            draft = build(seq)
            try:
                self._mark.store(max(self._mark.mark.reserved, seq + BLOCK), seq)
            except OSError as exc:
                log.error("cannot record sequence number %d in %s: %s", seq, self._mark.path,
                          exc)
            if len(self._memory) >= MEMORY_MAX_EVENTS:
                del self._memory[min(self._memory)]
                self._counters["dropped_overflow"] += 1
            self._memory[seq] = SpoolEntry(seq, draft.topic, draft.payload, draft.content_type,
                                           draft.priority)
            self._urgent = max(self._urgent, draft.priority)
            return seq

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
        created = draft.created_ms if draft.created_ms is not None else self._now_ms()
        self._db.execute(
            "INSERT INTO spool(seq, topic, payload, content_type, priority, created_ms, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, draft.topic, draft.payload, draft.content_type, draft.priority,
             created, size))
        self._counters["last_seq"] = seq
        self._depth += 1
        self._bytes += size
        self._urgent = max(self._urgent, draft.priority)
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
            "SELECT seq, size FROM spool WHERE priority <= ? ORDER BY priority, seq", (priority,))
        for seq, vsize in rows:
            if freed_n >= excess_n and freed_b >= excess_b:
                break
            if seq in self._on_wire:
                continue
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
        """Delete acknowledged events (inside the caller's transaction); (count, bytes)."""
        n = b = 0
        for seq in self._acked_pending:
            row = self._db.execute("DELETE FROM spool WHERE seq = ? RETURNING size",
                                   (seq,)).fetchone()
            if row is not None:
                n += 1
                b += row[0]
            if len(self._acked_done) == self._acked_done.maxlen:
                self._acked_done_set.discard(self._acked_done[0])
            self._acked_done.append(seq)
            self._acked_done_set.add(seq)
        self._acked_pending.clear()
        self._depth -= n
        self._bytes -= b
        return n, b

    # --- draining ------------------------------------------------------------------
    def claim(self, seqs: Iterable[int], generation: int) -> bool:
        """Mark ``seqs`` as handed to the broker, unless anything was dropped since the caller
        read them (``generation``); then it must read again."""
        with self._lock:
            if generation != self.drop_generation:
                return False
            self._on_wire.update(seqs)
            return True

    def release_wire(self) -> None:
        """The connection is gone: nothing is on the wire any more."""
        with self._lock:
            self._on_wire.clear()

    def take_urgent(self) -> int:
        """The highest priority appended since the last call (-1: nothing appended)."""
        with self._lock:
            urgent, self._urgent = self._urgent, -1
        return urgent

    def note_acked(self, seqs: Iterable[int]) -> None:
        """Record broker acknowledgements now; :meth:`remove` deletes them later in a batch.

        Each event counts as acked once, however often it was sent and acknowledged."""
        with self._lock:
            self._note_acked(seqs)

    def _note_acked(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            self._on_wire.discard(seq)
            if seq in self._memory:
                del self._memory[seq]
                self._counters["acked"] += 1
            elif seq not in self._acked_pending and seq not in self._acked_done_set:
                self._acked_pending.add(seq)
                self._counters["acked"] += 1

    def read_lanes(self, cursors: dict[int, int], limit: int) -> list[SpoolEntry]:
        """Up to ``limit`` events to send next: the highest priority first, and within a
        priority (a lane) in sequence order after that lane's cursor (the last seq sent).

        Why lanes: after an outage an intrusion must not wait behind every stored reading;
        order is kept where it matters, within a kind of event."""
        with self._lock:
            def work() -> list[SpoolEntry]:
                out: list[SpoolEntry] = []
                # Lane by lane, highest first; each MAX() is one seek in spool_drop_order.
                prio = self._db.execute("SELECT MAX(priority) FROM spool").fetchone()[0]
                while prio is not None and len(out) < limit:
                    want = limit - len(out)
                    rows = self._db.execute(
                        "SELECT seq, topic, payload, content_type, priority FROM spool "
                        "WHERE priority = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (prio, cursors.get(prio, 0), want + len(self._acked_pending))).fetchall()
                    out.extend(SpoolEntry(*r) for r in rows if r[0] not in self._acked_pending)
                    prio = self._db.execute("SELECT MAX(priority) FROM spool WHERE priority < ?",
                                            (prio,)).fetchone()[0]
                return out[:limit]

            entries: list[SpoolEntry] = self._guarded(work)  # type: ignore[assignment]
            if self._memory:
                entries.extend(e for s, e in self._memory.items()
                               if s > cursors.get(e.priority, 0))
                entries.sort(key=lambda e: (-e.priority, e.seq))
        return entries[:limit]

    def read_after(self, seq: int, limit: int) -> list[SpoolEntry]:
        """Up to ``limit`` events with a sequence number above ``seq``, in order (events
        already acknowledged but not yet deleted are skipped)."""
        with self._lock:
            def work() -> list[SpoolEntry]:
                rows = self._db.execute(
                    "SELECT seq, topic, payload, content_type, priority FROM spool WHERE seq > ? "
                    "ORDER BY seq LIMIT ?", (seq, limit + len(self._acked_pending))).fetchall()
                return [SpoolEntry(*r) for r in rows if r[0] not in self._acked_pending]

            entries: list[SpoolEntry] = self._guarded(work)  # type: ignore[assignment]
            if self._memory:
                entries.extend(e for s, e in self._memory.items() if s > seq)
                entries.sort(key=lambda e: e.seq)
        return entries[:limit]

    def remove(self, acked: Iterable[int] = (), rejected: Iterable[int] = ()) -> None:
        """Delete events the broker acknowledged (or refused for good) in one transaction.

        A delete that fails (e.g. disk full) is retried on the next call or :meth:`maintain`;
        the events are not sent again meanwhile and are counted once."""
        acked, rejected = list(acked), list(rejected)
        with self._lock:
            self._note_acked(acked)
            rejected = [s for s in rejected if self._memory.pop(s, None) is None]
            self._counters["rejected"] += len(rejected)
            self._acked_pending.update(rejected)  # refused for good: deleted the same way
            self._retry_deletes()

    def maintain(self) -> None:
        """Retry deletes that failed before (called periodically by the service)."""
        with self._lock:
            self._retry_deletes()

    def _retry_deletes(self) -> None:
        if not self._acked_pending:
            return
        try:
            def work() -> tuple[int, int]:
                self._db.execute("BEGIN IMMEDIATE")
                freed = self._delete_acked_pending()
                self._save_counters("acked", "rejected")
                self._db.execute("COMMIT")
                return freed

            pending = set(self._acked_pending)
            depth, size = self._depth, self._bytes
            self._guarded(work)
        except sqlite3.Error as exc:
            self._rollback()
            self._acked_pending = pending
            self._depth, self._bytes = depth, size
            # Not fatal: they stay marked as acknowledged, are not sent again, and the delete
            # is retried; the counters on disk catch up with the next successful write.
            _ratelog.log(logging.ERROR, "delete", "spool: cannot remove acknowledged events "
                         "(will retry): %s", _explain(exc, self.path))

    def expire(self, now_ms: int | None = None) -> int:
        """Drop events older than ``max_age_s`` (by store time, jump-aware); return how many."""
        with self._lock:
            cutoff = (now_ms if now_ms is not None else self._now_ms()) - self.max_age_ms
            self._retry_deletes()
            try:
                def work() -> list[tuple[int, int]]:
                    self._db.execute("BEGIN IMMEDIATE")
                    rows = self._db.execute(
                        "DELETE FROM spool WHERE created_ms < ? RETURNING seq, size",
                        (cutoff,)).fetchall()
                    expired = [r for r in rows if r[0] not in self._acked_pending]
                    self._counters["dropped_expired"] += len(expired)
                    self._acked_pending.difference_update(r[0] for r in rows)
                    self._save_counters("dropped_expired")
                    self._db.execute("COMMIT")
                    return rows

                saved = self._counters["dropped_expired"]
                rows: list[tuple[int, int]] = self._guarded(work)  # type: ignore[assignment]
            except sqlite3.Error as exc:
                self._rollback()
                self._counters["dropped_expired"] = saved
                log.error("spool: cannot expire old events: %s", _explain(exc, self.path))
                return 0
            expired_n = self._counters["dropped_expired"] - saved
            if expired_n:
                self.drop_generation += 1
            self._depth -= len(rows)
            self._bytes -= sum(r[1] for r in rows)
        if expired_n:
            log.warning("spool: %d event(s) older than %.0f s expired", expired_n,
                        self.max_age_ms / 1000)
        return expired_n

    def stats(self) -> SpoolStats:
        """Current depth, bytes, age of the oldest event and the counters."""
        with self._lock:
            def work() -> object:
                return self._db.execute("SELECT MIN(created_ms), MIN(seq) FROM spool").fetchone()

            oldest, oldest_seq = self._guarded(work)  # type: ignore[misc]
            if self._memory:
                oldest_seq = min(oldest_seq or min(self._memory), min(self._memory))
            c = self._counters
            return SpoolStats(
                depth=self._depth - len(self._acked_pending) + len(self._memory),
                bytes=self._bytes, oldest_ms=oldest,  # type: ignore[arg-type]
                last_seq=c["last_seq"], dropped_overflow=c["dropped_overflow"],
                dropped_refused=c["dropped_refused"], dropped_expired=c["dropped_expired"],
                rejected=c["rejected"], acked=c["acked"], dropped_disk=c["dropped_disk"],
                dropped_corrupt=c["dropped_corrupt"], disk_bytes=self._disk_bytes(),
                oldest_seq=oldest_seq)

    def _disk_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                total += Path(str(self.path) + suffix).stat().st_size
        return total

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back into the main file)."""
        with self._lock:
            self._retry_deletes()
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._mark.close()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


def _error_name(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", ""))


def _explain(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "full" in text:
        return (f"disk full: the spool at {path} cannot grow ({text}); free space on that "
                "filesystem or lower spool.max_bytes")
    if "readonly" in text or "read-only" in text:
        return f"spool {path} is read-only ({text}); check the file's owner and mount"
    return f"spool {path}: {text}"
