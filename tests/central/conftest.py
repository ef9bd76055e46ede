"""Fixtures for the centre: a private PostgreSQL cluster, and a store on each backend.

The ``store`` fixture is parametrized, so every test that takes it runs on SQLite and on
PostgreSQL (a fresh database per test on one cluster per session, started on a free port).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from central.config import CentralConfig
from central.pglocal import LocalPostgres
from central.store import Store, open_store

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """One private PostgreSQL cluster for the session (~2 s to start)."""
    pg = LocalPostgres().start()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture
def pg_url(pg_server: LocalPostgres) -> str:
    """A fresh database on the private cluster."""
    return pg_server.create_database(f"t{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty archive on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty archive (both backends)."""
    s = open_store(db_url)
    s.migrate()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def central_config(tmp_path: Path) -> Callable[..., CentralConfig]:
    """Build a config for a test broker and database with quick batches and retries."""
    def make(port: int, url: str, **sections: dict[str, object]) -> CentralConfig:
        raw: dict[str, dict[str, object]] = {
            "broker": {"port": port, "client_id": "central-test", "group": "g"},
            "database": {"url": url},
            "ingest": {"batch_wait_ms": 5, "retry_min_s": 0.1, "retry_max_s": 0.5},
            "web": {"enabled": False, "secret_file": str(tmp_path / "secret.key")},
        }
        for name, values in sections.items():
            raw.setdefault(name, {}).update(values)
        return CentralConfig.model_validate(raw)
    return make
