"""The archive behind one small interface, with two backends: PostgreSQL and SQLite.

Why two: PostgreSQL is the district's archive (partitions by day, concurrent writers from
several central instances, trigram indexes for wildcard plate search); SQLite is the embedded
default for the demo and a single laptop. The same tests run on both (tests/central).

Contract: :meth:`Store.write` stores a batch in one transaction and returns only after the
commit, so the caller may then acknowledge the batch to the broker. Writing an event that is
already stored (same id and time) is a no-op counted as a duplicate.
"""

from __future__ import annotations

from central.store.base import (
    Batch,
    PlateQuery,
    Store,
    StoreUnavailableError,
    WriteResult,
    open_store,
)

__all__ = ["Batch", "PlateQuery", "Store", "StoreUnavailableError", "WriteResult", "open_store"]
