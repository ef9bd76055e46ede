"""PostgreSQL backend: the district's archive (psycopg 3).

Why partitions by day: 3,200 events/s is ~276 million rows a day; retention drops whole
partitions (instant, no vacuum debt) instead of deleting rows, and queries bounded in time
touch only the partitions they name. Partitions are created on demand, before the batch that
needs them, by whichever instance gets there first (``IF NOT EXISTS``; a race is retried).

Contract: a lost connection raises (the ingest backs off and retries the same batch, which has
not been acknowledged); the next call reconnects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from central.store.base import DAY_MS, Store, StoreUnavailableError

CONNECT_TIMEOUT_S = 5  # a stopped server should fail fast, so health can say so
MIGRATION_LOCK = 7_215_001  # advisory lock id: instances starting together migrate one at a time


class PostgresStore(Store):
    """The archive in a PostgreSQL database."""

    kind = "postgresql"
    json_param = "%s::jsonb"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._partitions: set[int] = set()

    def _connect(self) -> Any:
        try:
            return psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {str(exc).strip()}") from None

    def _is_connection_error(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.OperationalError | StoreUnavailableError | psycopg.InterfaceError)

    def _migrations_package(self) -> str:
        return "central.store.migrations.postgres"

    def _migration_lock(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def _apply_migration(self, cur: Any, version: int, sql: str) -> None:
        cur.execute(sql)

    def _ensure_partitions(self, ts_values: Sequence[int]) -> None:
        days = {ts // DAY_MS for ts in ts_values} - self._partitions
        for day in sorted(days):
            name = "events_" + dt.datetime.fromtimestamp(day * 86_400, dt.UTC).strftime("%Y%m%d")
            sql = (f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events "
                   f"FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})")
            for _ in range(3):
                try:
                    with self._tx() as cur:
                        cur.execute(sql)
                    break
                except (pgerrors.UniqueViolation, pgerrors.DuplicateTable):
                    continue  # another instance created it at the same moment
            self._partitions.add(day)

    def _suffix_clause(self) -> str | None:
        # the generated reversed plate (migration 0002) turns '*1234' into a btree prefix scan
        return r"plate_rev LIKE %s ESCAPE '\'"

    def partitions(self) -> list[str]:
        """Names of the event partitions, oldest first."""
        rows = self._rows("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                          "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' ORDER BY 1")
        return [r["name"] for r in rows]

    def drop_before(self, cutoff_ms: int) -> int:
        """Drop every daily partition that ends at or before ``cutoff_ms`` (whole days only)."""
        dropped = 0
        for name in self.partitions():
            day = dt.datetime.strptime(name.removeprefix("events_"), "%Y%m%d").replace(tzinfo=dt.UTC)
            end_ms = int(day.timestamp() * 1000) + DAY_MS
            if end_ms <= cutoff_ms:
                with self._tx() as cur:
                    cur.execute(f"DROP TABLE IF EXISTS {name}")
                    cur.execute("DELETE FROM alarms WHERE ts_ms < %s", (end_ms,))
                self._partitions.discard(end_ms // DAY_MS - 1)
                dropped += 1
        return dropped
