"""What every private local server (mosquitto, PostgreSQL) used by tests, benchmarks and the demo shares.

Why a base class: :class:`gateway.broker.local.LocalMosquitto` and
:class:`central.pglocal.LocalPostgres` are started and stopped differently, but both are context
managers that close (stop and clean up) on exit and both hand their log text to failure
messages; those parts are written once here.

Contract: a subclass sets ``log_path`` and implements ``start()`` (returning itself) and
``close()`` (stop, then remove its temporary folder).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self


class LocalServer(ABC):
    """A server process on loopback owned by this program; ``with`` starts and closes it."""

    log_path: Path

    @abstractmethod
    def start(self) -> Self:
        """Start the server and return once it accepts connections."""

    @abstractmethod
    def close(self) -> None:
        """Stop the server and remove what it wrote."""

    def log_text(self) -> str:
        """The server's log so far (for failure messages); empty if there is none yet."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
