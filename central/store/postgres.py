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
import math
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from central.store.base import DAY_MS, PlateQuery, Store, StoreUnavailableError

CONNECT_TIMEOUT_S = 5  # a stopped server should fail fast, so health can say so
MIGRATION_LOCK = 7_215_001  # advisory lock id: instances starting together migrate one at a time


class PostgresStore(Store):
    """The archive in a PostgreSQL database."""

    kind = "postgresql"
    json_param = "%s::jsonb"
    prefix_probe_min = 1000  # a prefix search counts at least this many matches before choosing

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

    def _wildcard_page_sql(self, q: PlateQuery, where: str, params: list[Any]) -> str:
        """A prefix search's page by the cheaper of two index-only paths, chosen from a count.

        ``浙A12*`` newest first can walk the time index backwards until the page is full (cheap
        when the prefix is common) or read every match from the prefix btree and sort them
        (cheap when it is rare). The planner guesses the count from statistics and a wrong
        guess costs hundreds of milliseconds at 10 M rows, so the store counts instead: it
        reads at most ``sqrt(limit * rows)`` matches from the prefix btree. Fewer than that,
        and sorting them is cheap; as many, and the matches are dense enough that the time
        walk meets the page within about as many index entries. Either way a search reads
        O(sqrt(limit * rows)) index entries (assuming matches spread over time). The two SQL
        forms hide the other index from the planner (``ts_ms + 0``, ``plate || ''``).
        """
        if q.prefix() is None:
            return super()._wildcard_page_sql(q, where, params)
        rows = self._rows(
            "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint AS n FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'events'")[0]["n"]
        probe = max(self.prefix_probe_min, math.isqrt(max(q.limit, 1) * max(rows, 1)))
        found = self._rows(f"SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE {where} LIMIT %s) s",
                           (*params, probe))[0]["n"]
        if found < probe:  # rare: sort the matches, newest first
            return f"SELECT id, ts_ms FROM events WHERE {where} ORDER BY ts_ms + 0 DESC LIMIT %s"
        walk_where, _ = self._plate_where(q, plate_expr="(plate || '')")
        return f"SELECT id, ts_ms FROM events WHERE {walk_where} ORDER BY ts_ms DESC LIMIT %s"

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
