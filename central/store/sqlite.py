"""SQLite backend: the embedded default for the demo and one laptop.

Why WAL with ``synchronous=FULL``: the ingest acknowledges a batch to the broker right after
the commit, so the commit must be on disk (FULL), and the web UI reads while the ingest
writes (WAL). A busy timeout lets a second process (``edgepost central user add``) wait
rather than fail. Several central instances on one SQLite file work but serialise on its
single writer lock: concurrent writers are a PostgreSQL feature.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from central.store.base import Store, StoreUnavailableError

BUSY_TIMEOUT_S = 30.0  # another writer (a second instance, a CLI command) holds the lock this long at most


class SqliteStore(Store):
    """The archive in one SQLite file."""

    kind = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = Path(url.removeprefix("sqlite:///"))

    def _connect(self) -> Any:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                   isolation_level="DEFERRED")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(f"cannot open the SQLite archive {self.path}: {exc}") from None
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?")

    def _is_connection_error(self, exc: BaseException) -> bool:
        # A locked or unreachable file is worth retrying; a constraint or data error is not.
        return isinstance(exc, sqlite3.OperationalError | StoreUnavailableError)

    def _migrations_package(self) -> str:
        return "central.store.migrations.sqlite"

    def _migration_lock(self, cur: Any) -> None:
        # DDL does not open a transaction implicitly in sqlite3: open one, so a migration
        # is applied whole or not at all, and a second process waits for it.
        if not self.conn.in_transaction:
            cur.execute("BEGIN IMMEDIATE")

    def _apply_migration(self, cur: Any, version: int, sql: str) -> None:
        # executescript would commit the open transaction; run the statements one by one.
        for statement in _statements(sql):
            cur.execute(statement)

    def drop_before(self, cutoff_ms: int) -> int:
        with self._tx() as cur:
            cur.execute("DELETE FROM events WHERE ts_ms < ?", (cutoff_ms,))
            n = cur.rowcount
            cur.execute("DELETE FROM alarms WHERE ts_ms < ?", (cutoff_ms,))
            return int(n)


def _statements(sql: str) -> Sequence[str]:
    """Split a migration file into statements (no semicolons inside our literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
