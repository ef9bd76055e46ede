"""``[spool]``: the on-disk queue where events wait for the broker's acknowledgement."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from gateway.strict import StrictModel


class SpoolConfig(StrictModel):
    """Location, bounds and overflow policy of the durable event spool (SQLite, WAL mode)."""

    path: Path = Field(default=Path("var/edgepost/spool.sqlite3"),
                       description="SQLite file of the spool; its folder is created if missing.")
    max_events: int = Field(default=1_000_000, ge=1, description="Most events kept.")
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024,
                           description="Most payload bytes kept (crops count here).")
    max_age_s: float = Field(default=30 * 86400, gt=0,
                             description="Events older than this are dropped (counted as expired).")
    overflow: Literal["drop_oldest", "drop_newest"] = Field(
        default="drop_oldest",
        description="When full: drop_oldest removes the oldest events of the lowest priority "
        "(readings before alarms); drop_newest refuses the new event. Both are counted.")
    sync: Literal["full", "normal"] = Field(
        default="full",
        description="full: an event survives a power cut once produced (fsync per commit); "
        "normal: survives a process crash only, faster on slow SD cards.")
