"""SQL shared by both backends; each backend adds its connection, migrations and partitions.

Why one class with dialect hooks rather than an ORM: the queries are few, hot and must use
specific indexes (see the migrations); the SQL below is portable between SQLite ≥ 3.35 and
PostgreSQL ≥ 12 (``ON CONFLICT``, ``RETURNING``, window functions), so each query is written
once and the backends differ only in placeholders, JSON columns and partitions.

Contract: one :class:`Store` object is used by one thread at a time (the web app serialises
its requests on a lock); every public method either completes or raises, and :meth:`write`
returns only after the commit.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from central.decode import EventRow, Quarantined, Reply, StatusDoc, event_id_text

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


class StoreUnavailableError(RuntimeError):
    """The database can't be reached or refused the operation; the text says which and what to do."""


@dataclass
class Batch:
    """What one transaction stores: events, quarantined messages and status documents."""

    events: list[EventRow] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    statuses: list[StatusDoc] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    #: most nodes listed per device: an event naming a node beyond it is stored, the node not listed
    max_nodes_per_device: int = 1000

    def __len__(self) -> int:
        return len(self.events) + len(self.quarantined) + len(self.statuses) + len(self.replies)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How many events of a batch were new and how many were already stored."""

    inserted: int
    duplicates: int
    nodes_not_listed: int = 0  # new nodes past Batch.max_nodes_per_device


@dataclass(frozen=True, slots=True)
class PlateQuery:
    """A plate search: exact text, a wildcard pattern (``*`` any run, ``?`` one character) or a hash.

    ``text_hash`` is the keyed hash of an exact ``text`` when the centre holds the site's
    plate-hash key: the search then also finds passages the gateways sent hashed.
    """

    text: str | None = None
    plate_hash: bytes | None = None
    text_hash: bytes | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 200

    @property
    def wildcard(self) -> bool:
        return self.text is not None and ("*" in self.text or "?" in self.text)

    def like_pattern(self) -> str:
        """The SQL LIKE pattern of a wildcard query (with ``\\`` escaping LIKE's own symbols)."""
        assert self.text is not None
        escaped = re.sub(r"([\\%_])", r"\\\1", self.text)
        return escaped.replace("*", "%").replace("?", "_")

    def suffix(self) -> str | None:
        """The literal tail of a pure suffix pattern (``*1234``), else None."""
        if self.text is None or not self.text.startswith("*"):
            return None
        tail = self.text.lstrip("*")
        return tail if tail and "*" not in tail and "?" not in tail else None


EVENT_COLUMNS = ("id", "ts_ms", "device", "seq", "type", "rx_ms", "lat", "lon", "plate", "plate_hash",
                 "direction", "vehicle_class", "zone", "camera", "watch_match", "alarm",
                 "clock_untrusted", "body", "crop", "cell")
DEVICE_UPSERT = """
INSERT INTO devices (device, online, state, state_rx_ms, health, health_rx_ms, last_event_ms, lat, lon)
VALUES (%s, %s, {json}, %s, {json}, %s, %s, %s, %s)
ON CONFLICT (device) DO UPDATE SET
  online = CASE WHEN excluded.state_rx_ms IS NOT NULL THEN excluded.online ELSE devices.online END,
  state = CASE WHEN excluded.state_rx_ms IS NOT NULL THEN excluded.state ELSE devices.state END,
  state_rx_ms = COALESCE(excluded.state_rx_ms, devices.state_rx_ms),
  health = CASE WHEN excluded.health_rx_ms IS NOT NULL THEN excluded.health ELSE devices.health END,
  health_rx_ms = COALESCE(excluded.health_rx_ms, devices.health_rx_ms),
  last_event_ms = CASE WHEN excluded.last_event_ms > COALESCE(devices.last_event_ms, 0)
                       THEN excluded.last_event_ms ELSE devices.last_event_ms END,
  lat = COALESCE(excluded.lat, devices.lat),
  lon = COALESCE(excluded.lon, devices.lon)
"""
NODE_UPSERT = """
INSERT INTO nodes (device, node, last_event_ms, last_type, status, status_ms)
VALUES (%s, %s, %s, %s, {json}, %s)
ON CONFLICT (device, node) DO UPDATE SET
  last_type = CASE WHEN excluded.last_event_ms >= nodes.last_event_ms
                   THEN excluded.last_type ELSE nodes.last_type END,
  last_event_ms = CASE WHEN excluded.last_event_ms > nodes.last_event_ms
                       THEN excluded.last_event_ms ELSE nodes.last_event_ms END,
  status = CASE WHEN excluded.status_ms IS NOT NULL AND excluded.status_ms >= COALESCE(nodes.status_ms, 0)
                THEN excluded.status ELSE nodes.status END,
  status_ms = CASE WHEN excluded.status_ms IS NOT NULL AND excluded.status_ms >= COALESCE(nodes.status_ms, 0)
                   THEN excluded.status_ms ELSE nodes.status_ms END
"""
ALARM_COLUMNS = ("event_id", "ts_ms", "rx_ms", "timer_ms", "device", "type", "category", "summary",
                 "clock_untrusted")


class Store:
    """The archive. Use :func:`open_store` to get the backend a URL names."""

    kind = "abstract"
    #: How a JSON parameter is written in SQL (PostgreSQL casts text to jsonb).
    json_param = "%s"

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self._conn: Any = None

    # --- backend hooks ---------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        """Adapt placeholders to the driver."""
        return sql

    def _is_connection_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _ensure_partitions(self, ts_values: Sequence[int]) -> None:
        """Create the time partitions a batch needs (PostgreSQL); nothing for SQLite."""

    def _migrations_package(self) -> str:
        raise NotImplementedError

    def _apply_migration(self, cur: Any, version: int, sql: str) -> None:
        raise NotImplementedError

    def _migration_lock(self, cur: Any) -> None:
        """Serialise migrations between instances starting together."""

    def drop_before(self, cutoff_ms: int) -> int:
        """Retention: remove events older than ``cutoff_ms``; returns partitions or rows removed."""
        raise NotImplementedError

    def _suffix_clause(self) -> str | None:
        """An extra, index-friendly condition for a suffix pattern (PostgreSQL's reversed plate)."""
        return None

    # --- connection ------------------------------------------------------------------
    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        with self.lock:
            if self._conn is not None:
                with suppress(Exception):  # closing a broken connection may fail; it is gone anyway
                    self._conn.close()
                self._conn = None

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A transaction: commit on success, roll back (and drop a broken connection) on error."""
        with self.lock:
            conn = self.conn
            cur = conn.cursor()
            try:
                yield cur
                conn.commit()
            except BaseException as exc:
                try:
                    conn.rollback()
                except Exception:  # the connection itself is gone: reconnect next time
                    self._conn = None
                if self._is_connection_error(exc):
                    self.close()
                raise
            finally:
                with suppress(Exception):  # a cursor of a dead connection
                    cur.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._tx() as cur:
            cur.execute(self._sql(sql), tuple(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def is_connection_error(self, exc: BaseException) -> bool:
        """True when ``exc`` means the database is unreachable (retry later), not a bad row."""
        return self._is_connection_error(exc)

    # --- schema ----------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the versioned migrations in ``migrations/<backend>/NNNN_*.sql`` not applied yet."""
        files = sorted((f for f in resources.files(self._migrations_package()).iterdir()
                        if f.name.endswith(".sql")), key=lambda f: f.name)
        applied: list[int] = []
        with self._tx() as cur:
            self._migration_lock(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)")
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for f in files:
                version = int(f.name.split("_", 1)[0])
                if version in done:
                    continue
                self._apply_migration(cur, version, f.read_text())
                cur.execute(self._sql("INSERT INTO schema_migrations VALUES (%s, %s, %s)"),
                            (version, f.name, _now_ms()))
                applied.append(version)
        return applied

    # --- writing ---------------------------------------------------------------------
    def write(self, batch: Batch) -> WriteResult:
        """Store a batch in one transaction; returns after the commit."""
        events = sorted(batch.events, key=lambda r: r.id)  # one lock order for concurrent writers
        if events:
            self._ensure_partitions([r.ts_ms for r in events])
        with self._tx() as cur:
            inserted = 0
            if events:
                cols = ", ".join(EVENT_COLUMNS)
                values = ", ".join(self.json_param if c == "body" else "%s" for c in EVENT_COLUMNS)
                cur.executemany(self._sql(
                    f"INSERT INTO events ({cols}) VALUES ({values}) ON CONFLICT DO NOTHING"),
                    [tuple(getattr(r, c) for c in EVENT_COLUMNS) for r in events])
                inserted = max(cur.rowcount, 0)
                alarms = [r for r in events if r.alarm is not None]
                if alarms:
                    cur.executemany(self._sql(
                        f"INSERT INTO alarms ({', '.join(ALARM_COLUMNS)}) VALUES "
                        f"({', '.join(['%s'] * len(ALARM_COLUMNS))}) ON CONFLICT DO NOTHING"),
                        [(r.id, r.ts_ms, r.rx_ms, r.alarm_time_ms, r.device, r.type, r.alarm,
                          r.summary, r.clock_untrusted) for r in alarms])
            if batch.quarantined:
                cur.executemany(self._sql(
                    "INSERT INTO quarantine (rx_ms, topic, device, reason, detail, size, head) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)"),
                    [(q.rx_ms, q.topic, q.device, q.reason, q.detail, q.size, q.head)
                     for q in batch.quarantined])
            devices = self._device_rows(events, batch.statuses)
            if devices:
                cur.executemany(self._sql(DEVICE_UPSERT.format(json=self.json_param)), devices)
            nodes, not_listed = self._listed_nodes(cur, self._node_rows(events),
                                                   batch.max_nodes_per_device)
            if nodes:
                cur.executemany(self._sql(NODE_UPSERT.format(json=self.json_param)), nodes)
            if batch.replies:
                cur.executemany(self._sql(
                    f"INSERT INTO replies (cid, device, name, rx_ms, doc) VALUES (%s, %s, %s, %s, "
                    f"{self.json_param}) ON CONFLICT DO NOTHING"),
                    [(r.correlation, r.device, r.name, r.rx_ms, json.dumps(r.doc, ensure_ascii=False))
                     for r in batch.replies])
        return WriteResult(inserted, len(events) - inserted, not_listed)

    def _listed_nodes(self, cur: Any, rows: list[tuple[Any, ...]], cap: int
                      ) -> tuple[list[tuple[Any, ...]], int]:
        """The node upserts that keep each device at most ``cap`` listed nodes, and how many new
        nodes were left out. Why: the fleet view reads every node row on each call, so one
        gateway naming ever new nodes would slow it for every operator (session 42)."""
        if not rows:
            return rows, 0
        devices = sorted({r[0] for r in rows})
        cur.execute(self._sql(f"SELECT device, node FROM nodes WHERE device IN "
                              f"({', '.join(['%s'] * len(devices))})"), tuple(devices))
        known: dict[str, set[str]] = {}
        for device, node in cur.fetchall():
            known.setdefault(device, set()).add(node)
        kept, left_out = [], 0
        for r in rows:
            listed = known.setdefault(r[0], set())
            if r[1] in listed or len(listed) < cap:
                listed.add(r[1])
                kept.append(r)
            else:
                left_out += 1
        return kept, left_out

    @staticmethod
    def _node_rows(events: list[EventRow]) -> list[tuple[Any, ...]]:
        """One upsert per (device, node) named by the batch's events (sorted: one lock order)."""
        rows: dict[tuple[str, str], list[Any]] = {}
        for r in events:
            if r.node is None:
                continue
            row = rows.setdefault((r.device, r.node), [r.device, r.node, r.ts_ms, r.type, None, None])
            if r.ts_ms >= row[2]:
                row[2], row[3] = r.ts_ms, r.type
            if r.node_status is not None and (row[5] is None or r.ts_ms >= row[5]):
                row[4], row[5] = json.dumps(r.node_status, ensure_ascii=False), r.ts_ms
        return [tuple(rows[k]) for k in sorted(rows)]

    @staticmethod
    def _device_rows(events: list[EventRow], statuses: list[StatusDoc]) -> list[tuple[Any, ...]]:
        """One upsert per device (sorted: one lock order), merging events and status documents."""
        rows: dict[str, list[Any]] = {}
        for r in events:
            row = rows.setdefault(r.device, [r.device, None, None, None, None, None, None, None, None])
            if row[6] is None or r.rx_ms > row[6]:
                row[6] = r.rx_ms
            if r.lat is not None:
                row[7], row[8] = r.lat, r.lon
        for s in statuses:  # in arrival order: the last one of a kind wins
            row = rows.setdefault(s.device, [s.device, None, None, None, None, None, None, None, None])
            text = json.dumps(s.doc, ensure_ascii=False) if s.doc else None
            if s.kind == "state":
                online = s.doc.get("online") if s.doc else None
                row[1], row[2], row[3] = (online if isinstance(online, bool) else None), text, s.rx_ms
            else:
                row[4], row[5] = text, s.rx_ms
        return [tuple(rows[d]) for d in sorted(rows)]

    # --- fleet -----------------------------------------------------------------------
    def fleet(self) -> list[dict[str, Any]]:
        """Every device with its state, latest health and last position."""
        out = []
        nodes: dict[str, list[dict[str, Any]]] = {}
        for n in self._rows("SELECT device, node, last_event_ms, last_type, status, status_ms FROM nodes "
                            "ORDER BY device, node"):
            status = _json(n["status"]) or {}
            nodes.setdefault(n["device"], []).append({
                "node": n["node"], "last_event_ms": n["last_event_ms"], "last_type": n["last_type"],
                "fw_version": status.get("fw_version"), "boot_cause": status.get("boot_cause"),
                "interval_s": status.get("interval_s"), "config_fallback": status.get("config_fallback"),
                "status_ms": n["status_ms"]})
        for r in self._rows("SELECT * FROM devices ORDER BY device"):
            state = _json(r["state"]) or {}
            health = _json(r["health"]) or {}
            spool = health.get("spool") if isinstance(health.get("spool"), dict) else {}
            versions = state.get("versions") if isinstance(state.get("versions"), dict) else {}
            seen = [v for v in (r["last_event_ms"], r["state_rx_ms"], r["health_rx_ms"]) if v]
            out.append({
                "device": r["device"],
                "online": None if r["online"] is None else bool(r["online"]),
                "last_seen_ms": max(seen) if seen else None,
                "last_event_ms": r["last_event_ms"],
                "spool_depth": spool.get("depth"),
                "dropped": spool.get("dropped"),
                "version": versions.get("edgepost"),
                "config_hash": state.get("config_hash"),
                "lat": r["lat"], "lon": r["lon"],
                "nodes": nodes.pop(r["device"], []),
                "health": health, "health_rx_ms": r["health_rx_ms"],
            })
        return out

    def nodes(self) -> list[dict[str, Any]]:
        """Every sensor node seen, with its gateway (flat list for the API)."""
        return [{"device": d["device"], **n} for d in self.fleet() for n in d["nodes"]]

    # --- alarms ----------------------------------------------------------------------
    def alarms(self, open_only: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Newest alarms first (by the timer's start)."""
        where = "WHERE acked_ms IS NULL" if open_only else ""
        rows = self._rows(f"SELECT * FROM alarms {where} ORDER BY timer_ms DESC LIMIT %s", (limit,))
        return [_alarm_out(r) for r in rows]

    def alarm(self, event_id: bytes) -> dict[str, Any] | None:
        """One alarm by its event id."""
        rows = self._rows("SELECT * FROM alarms WHERE event_id = %s", (event_id,))
        return _alarm_out(rows[0]) if rows else None

    def ack_alarm(self, event_id: bytes, user: str, now_ms: int) -> bool:
        """Acknowledge an open alarm; False when it is unknown or already acknowledged."""
        with self._tx() as cur:
            cur.execute(self._sql("UPDATE alarms SET acked_ms = %s, acked_by = %s "
                                  "WHERE event_id = %s AND acked_ms IS NULL"), (now_ms, user, event_id))
            return bool(cur.rowcount)

    def assign_alarm(self, event_id: bytes, assignee: str) -> bool:
        """Assign an alarm to someone; False when it is unknown."""
        with self._tx() as cur:
            cur.execute(self._sql("UPDATE alarms SET assigned_to = %s WHERE event_id = %s"),
                        (assignee, event_id))
            return bool(cur.rowcount)

    def claim_escalations(self, timer_before_ms: int, now_ms: int) -> list[dict[str, Any]]:
        """Mark unacknowledged alarms whose timer started before ``timer_before_ms`` as escalated.

        The UPDATE claims each alarm once, so with several instances exactly one notifies.
        """
        with self._tx() as cur:
            cur.execute(self._sql(
                "UPDATE alarms SET escalated_ms = %s WHERE acked_ms IS NULL AND escalated_ms IS NULL "
                "AND timer_ms <= %s RETURNING *"), (now_ms, timer_before_ms))
            names = [d[0] for d in cur.description]
            return [_alarm_out(dict(zip(names, r, strict=True))) for r in cur.fetchall()]

    def crop(self, event_id: bytes) -> bytes | None:
        """The evidence crop of an event, if it carried one."""
        rows = self._rows("SELECT crop FROM events WHERE id = %s AND crop IS NOT NULL", (event_id,))
        return bytes(rows[0]["crop"]) if rows else None

    def event(self, event_id: bytes) -> dict[str, Any] | None:
        """One stored event (without its crop)."""
        rows = self._rows(f"SELECT {', '.join(c for c in EVENT_COLUMNS if c != 'crop')}, "
                          "crop IS NOT NULL AS has_crop FROM events WHERE id = %s", (event_id,))
        return _event_out(rows[0]) if rows else None

    # --- plates ----------------------------------------------------------------------
    def plates(self, q: PlateQuery) -> list[dict[str, Any]]:
        """Passages matching a plate query, newest first."""
        where, params = self._plate_where(q)
        cols = ("id, ts_ms, device, plate, plate_hash, direction, vehicle_class, zone, camera, lat, lon, "
                "watch_match")
        if q.wildcard:
            # Ids of the page first (an index-only walk on PostgreSQL), then only those rows.
            sql = (f"SELECT {cols} FROM events WHERE (id, ts_ms) IN (SELECT id, ts_ms FROM events "
                   f"WHERE {where} ORDER BY ts_ms DESC LIMIT %s) ORDER BY ts_ms DESC")
        else:
            sql = f"SELECT {cols} FROM events WHERE {where} ORDER BY ts_ms DESC LIMIT %s"
        return [_event_out(r) for r in self._rows(sql, (*params, q.limit))]

    def trajectory(self, q: PlateQuery) -> list[dict[str, Any]]:
        """Every passage of one plate (exact text or hash), oldest first, across all gateways."""
        if q.wildcard:
            raise ValueError("a trajectory needs one plate, not a pattern")
        where, params = self._plate_where(q)
        rows = self._rows(
            "SELECT id, ts_ms, device, plate, plate_hash, direction, vehicle_class, zone, camera, "
            f"lat, lon FROM events WHERE {where} ORDER BY ts_ms ASC, device LIMIT %s",
            (*params, q.limit))
        return [_event_out(r) for r in rows]

    def _plate_where(self, q: PlateQuery) -> tuple[str, list[Any]]:
        parts: list[str] = ["type = 'vehicle_passage'"]
        params: list[Any] = []
        if q.plate_hash is not None:
            parts.append("plate_hash = %s")
            params.append(q.plate_hash)
        elif q.text is not None:
            if q.wildcard:
                parts.append(r"plate LIKE %s ESCAPE '\'")
                params.append(q.like_pattern())
                suffix, clause = q.suffix(), self._suffix_clause()
                if suffix is not None and clause is not None:
                    parts.append(clause)
                    params.append(re.sub(r"([\\%_])", r"\\\1", suffix[::-1]) + "%")
            elif q.text_hash is not None:
                parts.append("(plate = %s OR plate_hash = %s)")
                params.extend((q.text, q.text_hash))
            else:
                parts.append("plate = %s")
                params.append(q.text)
        else:
            raise ValueError("a plate query needs a plate text or a plate hash")
        if q.since_ms is not None:
            parts.append("ts_ms >= %s")
            params.append(q.since_ms)
        if q.until_ms is not None:
            parts.append("ts_ms < %s")
            params.append(q.until_ms)
        return " AND ".join(parts), params

    # --- counts ----------------------------------------------------------------------
    def counts(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Vehicle passages per checkpoint (device) and hour, by direction and vehicle class."""
        return self._rows(
            f"SELECT device, (ts_ms / {HOUR_MS}) * {HOUR_MS} AS hour_ms, "
            "COALESCE(direction, 'unknown') AS direction, "
            "COALESCE(vehicle_class, 'unknown') AS vehicle_class, COUNT(*) AS n "
            "FROM events WHERE type = 'vehicle_passage' AND ts_ms >= %s AND ts_ms < %s "
            "GROUP BY device, hour_ms, direction, vehicle_class ORDER BY hour_ms, device",
            (since_ms, until_ms))

    def cell_counts(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Events per grid cell and event kind in a time range (events without a cell are left out)."""
        return self._rows(
            "SELECT cell, type, COUNT(*) AS n FROM events WHERE cell IS NOT NULL "
            "AND ts_ms >= %s AND ts_ms < %s GROUP BY cell, type ORDER BY cell, type",
            (since_ms, until_ms))

    # --- commands and replies ------------------------------------------------------------
    def record_command(self, cid: str, actor: str, device: str, name: str, args: dict[str, Any],
                       ts_ms: int) -> None:
        """Remember a command sent from the UI, so its reply can be shown beside it."""
        with self._tx() as cur:
            cur.execute(self._sql(
                "INSERT INTO commands (cid, ts_ms, actor, device, name, args) "
                f"VALUES (%s, %s, %s, %s, %s, {self.json_param})"),
                (cid, ts_ms, actor, device, name, json.dumps(args, ensure_ascii=False)))

    def commands(self, limit: int = 50, cid: str | None = None) -> list[dict[str, Any]]:
        """Commands sent from the UI, newest first, each with its reply (None until it comes)."""
        where, params = ("WHERE c.cid = %s", [cid]) if cid else ("", [])
        rows = self._rows(
            "SELECT c.cid, c.ts_ms, c.actor, c.device, c.name, c.args, r.rx_ms AS reply_ms, "
            f"r.doc AS reply FROM commands c LEFT JOIN replies r ON r.cid = c.cid {where} "
            "ORDER BY c.ts_ms DESC LIMIT %s", (*params, limit))
        for r in rows:
            r["args"], r["reply"] = _json(r["args"]), _json(r["reply"])
        return rows

    def replies(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest replies from gateways (also those to commands sent by other tools)."""
        rows = self._rows("SELECT cid, device, name, rx_ms, doc FROM replies ORDER BY rid DESC LIMIT %s",
                          (limit,))
        for r in rows:
            r["doc"] = _json(r["doc"])
        return rows

    # --- retention -------------------------------------------------------------------
    def apply_retention(self, cutoffs: dict[str, int],
                        quarantine_before_ms: int | None = None) -> dict[str, int]:
        """Remove events older than their kind's cutoff (``{kind: cutoff_ms}``, every kind named),
        and quarantined messages received before ``quarantine_before_ms`` when given.

        Whole time ranges older than the longest retention go with :meth:`drop_before`
        (whole partitions on PostgreSQL); kinds kept for less are then deleted row by row
        in the partitions that remain (partitions are by time, not by kind). Returns what
        was removed: ``{"whole": n, <kind>: rows, ..., "quarantine": rows}``.
        """
        oldest = min(cutoffs.values())
        removed = {"whole": self.drop_before(oldest)}
        for kind, cutoff in sorted(cutoffs.items()):
            if cutoff <= oldest:
                continue
            with self._tx() as cur:
                cur.execute(self._sql("DELETE FROM events WHERE type = %s AND ts_ms < %s"), (kind, cutoff))
                removed[kind] = max(cur.rowcount, 0)
                cur.execute(self._sql("DELETE FROM alarms WHERE type = %s AND ts_ms < %s"), (kind, cutoff))
        if quarantine_before_ms is not None:
            with self._tx() as cur:
                cur.execute(self._sql("DELETE FROM quarantine WHERE rx_ms < %s"), (quarantine_before_ms,))
                removed["quarantine"] = max(cur.rowcount, 0)
        return removed

    # --- accounting ------------------------------------------------------------------
    def seq_summary(self) -> list[dict[str, Any]]:
        """Per device: lowest and highest stored sequence number and how many distinct ones."""
        return self._rows("SELECT device, MIN(seq) AS min_seq, MAX(seq) AS max_seq, "
                          "COUNT(DISTINCT seq) AS distinct_seqs, COUNT(*) AS events "
                          "FROM events GROUP BY device ORDER BY device")

    def seq_holes(self, device: str | None = None) -> list[dict[str, Any]]:
        """Runs of sequence numbers missing between stored ones: (device, first, last)."""
        where = "WHERE device = %s" if device else ""
        return self._rows(
            "SELECT device, seq + 1 AS first, next_seq - 1 AS last FROM ("
            "  SELECT device, seq, LEAD(seq) OVER (PARTITION BY device ORDER BY seq) AS next_seq"
            f"  FROM events {where}) s WHERE next_seq > seq + 1 ORDER BY device, first",
            (device,) if device else ())

    # --- counters --------------------------------------------------------------------
    def totals(self) -> dict[str, Any]:
        """Stored events, open alarms and quarantined messages by reason."""
        events = self._rows("SELECT COUNT(*) AS n FROM events")[0]["n"]
        open_alarms = self._rows("SELECT COUNT(*) AS n FROM alarms WHERE acked_ms IS NULL")[0]["n"]
        reasons = self._rows("SELECT reason, COUNT(*) AS n FROM quarantine GROUP BY reason")
        return {"events": events, "open_alarms": open_alarms,
                "quarantined": {r["reason"]: r["n"] for r in reasons}}

    def event_ids(self) -> list[bytes]:
        """Every stored event id (tests and audits; not for big archives)."""
        return [bytes(r["id"]) for r in self._rows("SELECT id FROM events")]

    def quarantine(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest quarantined messages with their reasons."""
        rows = self._rows("SELECT qid, rx_ms, topic, device, reason, detail, size FROM quarantine "
                          "ORDER BY qid DESC LIMIT %s", (limit,))
        return rows

    # --- users and audit ---------------------------------------------------------------
    def add_user(self, name: str, password_hash: str, role: str) -> None:
        """Create or replace a user."""
        with self._tx() as cur:
            cur.execute(self._sql(
                "INSERT INTO users (name, hash, role, created_ms) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, role = excluded.role"),
                (name, password_hash, role, _now_ms()))

    def remove_user(self, name: str) -> bool:
        """Delete a user; False when there was none. Their open sessions end at their next request."""
        with self._tx() as cur:
            cur.execute(self._sql("DELETE FROM users WHERE name = %s"), (name,))
            return bool(cur.rowcount)

    def user(self, name: str) -> dict[str, Any] | None:
        """A user's hash and role."""
        rows = self._rows("SELECT name, hash, role FROM users WHERE name = %s", (name,))
        return rows[0] if rows else None

    def audit(self, actor: str, action: str, detail: str) -> None:
        """Record who did what (acknowledgements, assignments, commands to gateways)."""
        with self._tx() as cur:
            cur.execute(self._sql("INSERT INTO audit (ts_ms, actor, action, detail) VALUES (%s, %s, %s, %s)"),
                        (_now_ms(), actor, action, detail))

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit entries."""
        return self._rows("SELECT ts_ms, actor, action, detail FROM audit ORDER BY aid DESC LIMIT %s",
                          (limit,))


def _now_ms() -> int:
    import time
    return time.time_ns() // 1_000_000


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    return json.loads(value)


def _alarm_out(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id_text(bytes(r["event_id"])), "ts_ms": r["ts_ms"], "rx_ms": r["rx_ms"],
            "timer_ms": r["timer_ms"], "device": r["device"], "type": r["type"],
            "category": r["category"], "summary": r["summary"],
            "clock_untrusted": bool(r["clock_untrusted"]), "acked_ms": r["acked_ms"],
            "acked_by": r["acked_by"], "assigned_to": r["assigned_to"],
            "escalated_ms": r["escalated_ms"]}


def _event_out(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    out["id"] = event_id_text(bytes(r["id"]))
    if out.get("plate_hash") is not None:
        out["plate_hash"] = bytes(out["plate_hash"]).hex()
    if "body" in out:
        out["body"] = _json(out["body"])
    for flag in ("watch_match", "clock_untrusted", "has_crop"):
        if out.get(flag) is not None:
            out[flag] = bool(out[flag])
    return out


def open_store(url: str) -> Store:
    """The backend a URL names: ``sqlite:///PATH`` or ``postgresql://...``."""
    if url.startswith("sqlite:///"):
        from central.store.sqlite import SqliteStore
        return SqliteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from central.store.postgres import PostgresStore
        return PostgresStore(url)
    raise ValueError(f"unknown database url {url!r}: use sqlite:///PATH or postgresql://...")
