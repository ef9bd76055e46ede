"""The retained state document: online/offline, versions and configuration fingerprint."""

from __future__ import annotations

import platform
from typing import Any

from gateway import __version__
from gateway.events.envelope import SCHEMA_VERSION, now_ms


def state_document(online: bool, config_hash: str, boot_ms: int,
                   extra_versions: dict[str, str] | None = None,
                   clock: str | None = None,
                   level: dict[str, object] | None = None) -> dict[str, Any]:
    """Birth (online=True) or LWT/clean-stop (online=False) payload of ``.../state``."""
    versions = {"edgepost": __version__, "python": platform.python_version(),
                "schema": str(SCHEMA_VERSION)}
    versions.update(extra_versions or {})
    # clock: where event time stamps come from now, "ntp", "gps" or "free" (clock.py)
    extra_doc: dict[str, Any] = {} if clock is None else {"clock": clock}
    doc = {"online": online, "ts": now_ms(), "boot_ts": boot_ms, "versions": versions,
           "config_hash": config_hash}
    if level is not None:
        doc["level"] = level  # the site's alert level: level, source, since/until/by
    doc.update(extra_doc)
    return doc
