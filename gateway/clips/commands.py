"""``cmd/clips`` and ``cmd/clip``: list the recent clips and fetch one in chunks.

Why chunks on request rather than a burst of replies: a clip is megabytes and the broker takes
packets of at most 256 KiB; the operator asks for chunk after chunk, so a slow uplink is never
flooded and a lost reply costs one re-request. Each reply carries the chunk's own SHA-256 and
the whole file's, so the assembled clip can be checked byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.clips.store import ClipError, ClipStore

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def clips_command(store: ClipStore) -> Handler:
    """``cmd/clips`` ``{"limit": n}``: the newest clips, newest first, with their state."""

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        limit = args.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ClipError("limit must be a positive integer")
        return {"clips": store.recent(limit)}

    return handle


def clip_command(store: ClipStore) -> Handler:
    """``cmd/clip`` ``{"id": ..., "chunk": n}``: chunk ``n`` (default 0) of a ready clip, with
    ``chunks``, ``size``, ``sha256`` and ``chunk_sha256``; a clip still being written answers
    ``state: pending`` with ``ready_at`` (ms) and ``ready_in_s``."""

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        if "id" not in args:
            raise ClipError("give the clip id: {\"id\": ..., \"chunk\": 0} (cmd/clips lists them)")
        return store.chunk(args["id"], args.get("chunk", 0))

    return handle
