"""Reads whatever is still readable from a damaged spool file.

Why not give up on the file: a spool holds events nobody else has (the broker never
acknowledged them). Random bytes over a few pages, a truncated file or a zeroed header
damage a small part of it; the rest of the rows are intact and SQLite can still find most of
them by key. Python's ``sqlite3`` has no ``.recover``, so this does the part of it that
matters here:

1. work on a copy, never on the damaged file (it is kept for forensics);
2. repair the 100-byte database header: put back a valid one if it is gone (a zeroed or
   overwritten header makes SQLite refuse the whole file), and make the page count match
   the file's real length (a truncated file otherwise fails on every lookup);
3. read rows in sequence order in batches; where a batch hits a damaged page, step over the
   damaged region one sequence number at a time, and go back to batches after it.

Contract: :func:`salvage` never raises for damage in the file. It returns the rows it could
read (in sequence order), how many sequence numbers could not be read (an upper bound on the
events lost: some of those may have been delivered before the damage), and the counters it
could read.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HEADER_MAGIC = b"SQLite format 3\x00"
DEFAULT_PAGE_SIZE = 4096  # SQLite's default, which the spool never changes
BATCH = 256
# Where nothing at all is readable and no bound is known, stop stepping after this many
# consecutive unreadable numbers instead of walking towards 2**63.
MAX_BLIND_STEPS = 20_000

Row = tuple[int, str, bytes, str, int, int, int]  # seq, topic, payload, type, prio, ms, size
_COLUMNS = "seq, topic, payload, content_type, priority, created_ms, size"


@dataclass
class Salvage:
    """What could be read from a damaged spool."""

    rows: list[Row] = field(default_factory=list)
    unreadable: int = 0
    counters: dict[str, int] = field(default_factory=dict)


def salvage(damaged: Path, known_last_seq: int) -> Salvage:
    """Read every readable event of ``damaged`` (its ``-wal`` beside it is used too).

    ``known_last_seq`` bounds the search: no event above it was ever stored (the spool's
    sequence mark). 0 means unknown.
    """
    out = Salvage()
    with tempfile.TemporaryDirectory(prefix="edgepost-salvage-", dir=damaged.parent) as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        try:
            shutil.copyfile(damaged, copy)
            wal = Path(str(damaged) + "-wal")
            if wal.exists():
                shutil.copyfile(wal, Path(str(copy) + "-wal"))
            _repair_header(copy)
        except OSError as exc:
            log.error("spool salvage: cannot copy %s (%s); nothing salvaged", damaged, exc)
            return out
        try:
            db = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            log.error("spool salvage: %s cannot be opened at all (%s)", damaged, exc)
            return out
        try:
            out.counters = _read_counters(db)
            bound = max(known_last_seq, out.counters.get("last_seq", 0))
            _read_rows(db, bound, out)
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.close()
    return out


def _repair_header(path: Path) -> None:
    """Give ``path`` a usable header and a page count that matches its length."""
    with path.open("r+b") as f:
        header = bytearray(f.read(100))
        size = f.seek(0, 2)
        if len(header) < 100 or not header.startswith(HEADER_MAGIC):
            header = bytearray(_template_header())
        page_size = struct.unpack(">H", header[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            header = bytearray(_template_header())
            page_size = DEFAULT_PAGE_SIZE
        header[28:32] = struct.pack(">I", max(1, size // page_size))
        header[92:96] = header[24:28]  # "version valid for" = change counter: trust the count
        f.seek(0)
        f.write(bytes(header))


def _template_header() -> bytes:
    """The header of a fresh WAL-mode database with SQLite's default settings."""
    with tempfile.TemporaryDirectory(prefix="edgepost-hdr-") as tmp:
        path = Path(tmp) / "t.sqlite3"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t(x)")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return path.read_bytes()[:100]


def _read_counters(db: sqlite3.Connection) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in db.execute("SELECT name, value FROM counters")}
    except sqlite3.Error:
        return {}


def _read_rows(db: sqlite3.Connection, bound: int, out: Salvage) -> None:
    try:
        db.execute("SELECT seq FROM spool LIMIT 0").fetchall()
    except sqlite3.Error as exc:
        # Not even the table's definition is readable (e.g. the file was never a spool):
        # nothing can be found by key, so stepping through numbers would only waste time.
        log.error("spool salvage: no readable spool table (%s)", exc)
        return
    cursor = 0
    blind = 0
    while True:
        try:
            batch = db.execute(f"SELECT {_COLUMNS} FROM spool WHERE seq > ? ORDER BY seq "
                               "LIMIT ?", (cursor, BATCH)).fetchall()
        except sqlite3.DatabaseError:
            # A damaged page on the way: step over it one number at a time.
            cursor += 1
            if (bound and cursor > bound) or (not bound and blind >= MAX_BLIND_STEPS):
                return
            try:
                row = db.execute(f"SELECT {_COLUMNS} FROM spool WHERE seq = ?",
                                 (cursor,)).fetchone()
            except sqlite3.DatabaseError:
                out.unreadable += 1
                blind += 1
                continue
            blind = 0
            if row is not None:
                out.rows.append(tuple(row))  # type: ignore[arg-type]
            continue
        if not batch:
            return
        blind = 0
        out.rows.extend(tuple(r) for r in batch)  # type: ignore[misc]
        cursor = int(batch[-1][0])
