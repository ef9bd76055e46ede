"""Inventory of a site (SQLite): every gateway, subscriber, broker and node, with status.

The broker ACL and the CRL are generated from it, so it is the single source of truth of
who may do what. The file holds no secrets (keys live in their own 0600 files), but it is
created 0600 anyway: it maps device ids to places and serial numbers.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["gateway", "subscriber", "broker", "node"]
KINDS: tuple[str, ...] = ("gateway", "subscriber", "broker", "node")

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    kind        TEXT NOT NULL CHECK (kind IN ('gateway', 'subscriber', 'broker', 'node')),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    cert_serial TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    revoked_at  TEXT,
    details     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS revoked_serials (
    serial     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Device:
    """One inventory row."""

    kind: str
    name: str
    status: str
    cert_serial: str | None
    created_at: str
    updated_at: str
    revoked_at: str | None
    details: dict[str, Any] = field(default_factory=dict)


class Inventory:
    """Thin typed access to the inventory database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists()
        if new:
            # Create it 0600 before SQLite opens it (SQLite would use the umask).
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db:
            yield self._db

    def get(self, kind: str, name: str) -> Device | None:
        row = self._db.execute(
            "SELECT kind, name, status, cert_serial, created_at, updated_at, revoked_at, details "
            "FROM devices WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        return self._row(row) if row else None

    def list(self, kind: str | None = None, status: str | None = None) -> builtins.list[Device]:
        sql = ("SELECT kind, name, status, cert_serial, created_at, updated_at, revoked_at, details "
               "FROM devices WHERE 1=1")
        args: list[str] = []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if status:
            sql += " AND status = ?"
            args.append(status)
        return [self._row(r) for r in self._db.execute(sql + " ORDER BY kind, name", args)]

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Device:
        kind, name, status, serial, created, updated, revoked = row[:7]
        return Device(kind, name, status, serial, created, updated, revoked, json.loads(row[7]))

    def upsert(self, kind: str, name: str, *, cert_serial: str | None = None,
               details: dict[str, Any] | None = None) -> Device:
        """Insert or update a device as active; ``details`` are merged into the stored ones."""
        now = _now()
        old = self.get(kind, name)
        merged = {**(old.details if old else {}), **(details or {})}
        serial = cert_serial if cert_serial is not None else (old.cert_serial if old else None)
        with self._tx() as db:
            db.execute(
                "INSERT INTO devices (kind, name, status, cert_serial, created_at, updated_at, details) "
                "VALUES (?, ?, 'active', ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                "status = 'active', cert_serial = excluded.cert_serial, updated_at = excluded.updated_at, "
                "revoked_at = NULL, details = excluded.details",
                (kind, name, serial, now, now, json.dumps(merged, sort_keys=True)))
        dev = self.get(kind, name)
        assert dev is not None
        return dev

    def revoke(self, kind: str, name: str) -> Device:
        """Mark a device revoked and remember its certificate serial for the CRL."""
        dev = self.get(kind, name)
        if dev is None:
            raise KeyError(f"no {kind} named {name!r} in the inventory")
        now = _now()
        with self._tx() as db:
            db.execute("UPDATE devices SET status = 'revoked', revoked_at = ?, updated_at = ? "
                       "WHERE kind = ? AND name = ?", (now, now, kind, name))
            if dev.cert_serial:
                db.execute("INSERT OR IGNORE INTO revoked_serials VALUES (?, ?, ?, ?)",
                           (dev.cert_serial, kind, name, now))
        out = self.get(kind, name)
        assert out is not None
        return out

    def retire_serial(self, kind: str, name: str, serial: str) -> None:
        """Put a replaced certificate on the CRL (re-keying must not leave the old one valid)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO revoked_serials VALUES (?, ?, ?, ?)",
                       (serial, kind, name, _now()))

    def revoked_serials(self) -> builtins.list[tuple[int, dt.datetime]]:
        """Every revoked serial with its revocation time, for the CRL."""
        return [(int(s, 16), dt.datetime.fromisoformat(t))
                for s, t in self._db.execute("SELECT serial, revoked_at FROM revoked_serials")]
