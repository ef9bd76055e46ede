"""Run a private PostgreSQL cluster on a free loopback port (tests, benchmarks, the demo).

Why its own cluster: tests and benchmarks must neither depend on nor disturb a server the
machine may run. ``initdb``/``pg_ctl`` refuse to run as root, so as root they run as the
``postgres`` user that Debian's package creates (``runuser -u postgres --``), in a folder
owned by that user. Stopped by ``pg_ctl stop`` on its own data folder, never by name.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from gateway.broker.local import free_port
from gateway.broker.localproc import LocalServer


class PostgresNotFoundError(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def find_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (Debian keeps them out of PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for cand in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return cand
    raise PostgresNotFoundError(f"{name} not found: run scripts/setup.sh (or `apt-get install postgresql`)")


class LocalPostgres(LocalServer):
    """A PostgreSQL cluster in a temporary folder; ``start()``/``stop()`` may be repeated."""

    def __init__(self, port: int | None = None, user: str = "edgepost") -> None:
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        self.port = port or free_port()
        self.user = user
        self._tmp = tempfile.TemporaryDirectory(prefix="edgepost-pg-")
        self.workdir = Path(self._tmp.name)
        self.datadir = self.workdir / "data"
        self.log_path = self.workdir / "postgres.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses root: hand the folder to the package's postgres user.
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.workdir, "postgres", "postgres")
        self._initialised = False

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()[-1500:]}\n{self.log_text()[-1500:]}")

    def url(self, database: str = "postgres") -> str:
        """libpq URL of a database on this cluster."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def start(self) -> LocalPostgres:
        """Create the cluster if needed, start it and wait until it accepts connections."""
        if not self._initialised:
            self._run(self.initdb, "-D", str(self.datadir), "-A", "trust", "-U", self.user,
                      "-E", "UTF8", "--no-sync")
            self._initialised = True
        # fsync stays on: the tests prove durability claims against this server.
        opts = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                "-c max_connections=60 -c shared_buffers=64MB")
        self._run(self.pg_ctl, "-D", str(self.datadir), "-o", opts, "-l", str(self.log_path),
                  "-w", "-t", "30", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` disconnects clients; ``immediate`` is a crash)."""
        if self.running:
            self._run(self.pg_ctl, "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        import psycopg

        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(self.url(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        """Stop and remove the cluster."""
        try:
            self.stop("immediate")
        finally:
            self._tmp.cleanup()
