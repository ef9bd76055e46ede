"""Node key registry: a TOML or JSON file mapping node id -> HMAC key (hex), and what the
gateway needs to know about each enrolled node.

TOML::

    [[nodes]]
    id = 17
    name = "reservoir-north-pir"   # optional
    key = "<64 hex digits>"
    interval_s = 900               # optional: the report interval it was enrolled with
    lat = 30.123456                # optional: where it stands (WGS84), set at enrolment
    lon = 120.654321

JSON: ``{"nodes": [{"id": 17, "name": "...", "key": "...", "interval_s": 900, ...}]}``.

``interval_s`` is what the liveness check judges silence against (a node's STATUS can
lengthen it, never shorten it); ``lat``/``lon`` go into the envelope of the node's events.

Keys never appear in logs, reprs or error messages: errors name the entry by its index
and node id only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.textfile import read_utf8

log = logging.getLogger(__name__)

MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 64
MAX_INTERVAL_S = 7 * 86400  # the firmware's longest report interval is a day; a week is a typo
FIELDS = {"id", "key", "name", "interval_s", "lat", "lon"}


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """One enrolled node. The key is kept out of the repr."""

    key: bytes = field(repr=False)
    name: str | None = None
    interval_s: float | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def position(self) -> tuple[float, float] | None:
        """(lat, lon) when the registry has both."""
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None


class KeyFileError(ValueError):
    """The key file is unreadable or has a bad entry (message never contains a key)."""


def parse_key_file(text: str, fmt: str) -> dict[int, tuple[bytes, str | None]]:
    """Parse key-file text (``fmt`` ``toml`` or ``json``) into ``{id: (key, name)}``."""
    return {i: (e.key, e.name) for i, e in parse_node_file(text, fmt).items()}


def _number(entry: dict[str, object], name: str, where: str, lo: float, hi: float
            ) -> float | None:
    v = entry.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
            or not lo <= v <= hi:
        raise KeyFileError(f"{where}: {name} must be a number {lo:g}..{hi:g}")
    return float(v)


def parse_node_file(text: str, fmt: str) -> dict[int, NodeEntry]:
    """Parse key-file text (``fmt`` ``toml`` or ``json``) into ``{id: NodeEntry}``."""
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as exc:
        # The decoder's message may quote a line of the file, i.e. a key: drop it.
        raise KeyFileError(f"not valid {fmt} (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(data, dict) or set(data) - {"nodes"}:
        raise KeyFileError("top level must have only a 'nodes' list")
    nodes = data.get("nodes", [])
    if not isinstance(nodes, list):
        raise KeyFileError("'nodes' must be a list")
    out: dict[int, NodeEntry] = {}
    for i, entry in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(entry, dict) or set(entry) - FIELDS:
            raise KeyFileError(f"{where}: allowed fields are {', '.join(sorted(FIELDS))}")
        node_id = entry.get("id")
        if not isinstance(node_id, int) or isinstance(node_id, bool) or not 1 <= node_id <= 0xFFFE:
            raise KeyFileError(f"{where}: id must be an integer 1..65534")
        where = f"{where} (node {node_id})"
        if node_id in out:
            raise KeyFileError(f"{where}: duplicate id")
        key_hex = entry.get("key")
        try:
            key = bytes.fromhex(key_hex) if isinstance(key_hex, str) else None
        except ValueError:
            key = None
        if key is None or not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
            raise KeyFileError(
                f"{where}: key must be {MIN_KEY_BYTES}..{MAX_KEY_BYTES} bytes of hex"
            )
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise KeyFileError(f"{where}: name must be a string")
        interval = _number(entry, "interval_s", where, 0.1, MAX_INTERVAL_S)
        lat = _number(entry, "lat", where, -90, 90)
        lon = _number(entry, "lon", where, -180, 180)
        if (lat is None) != (lon is None):
            raise KeyFileError(f"{where}: give both lat and lon, or neither")
        out[node_id] = NodeEntry(key, name, interval, lat, lon)
    return out


class NodeKeyRegistry:
    """Per-node keys loaded from a file, reloaded when the file changes. Thread-safe."""

    def __init__(self, entries: dict[int, NodeEntry | tuple[bytes, str | None]] | None = None
                 ) -> None:
        self._entries = {i: e if isinstance(e, NodeEntry) else NodeEntry(*e)
                         for i, e in (entries or {}).items()}
        self._path: Path | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NodeKeyRegistry({len(self._entries)} nodes, keys hidden)"

    @classmethod
    def from_file(cls, path: Path) -> NodeKeyRegistry:
        """Load ``path`` (format from its suffix: .toml or .json); raise KeyFileError."""
        reg = cls()
        reg._path = Path(path)
        reg.reload()
        return reg

    def reload(self) -> None:
        """Re-read the file now; on error the previous keys stay in force and it raises."""
        if self._path is None:
            return
        fmt = "json" if self._path.suffix.lower() == ".json" else "toml"
        try:
            st = os.stat(self._path)
            text = read_utf8(self._path)
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {self._path}: {exc.strerror}") from None
        entries = parse_node_file(text, fmt)
        with self._lock:
            self._entries = entries
            self._stamp = (st.st_mtime_ns, st.st_size)
        log.info("node keys: loaded %d nodes from %s", len(entries), self._path)

    def reload_if_changed(self, on_error: Callable[[KeyFileError], object] | None = None) -> bool:
        """Reload when the file's mtime or size changed; keep old keys on a bad new file (and
        call ``on_error`` with why, once per change of the file)."""
        if self._path is None:
            return False
        try:
            st = os.stat(self._path)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) == self._stamp:
            return False
        try:
            self.reload()
        except KeyFileError as exc:
            log.error("node keys: %s; keeping the previous keys", exc)
            self._stamp = (st.st_mtime_ns, st.st_size)  # report a bad file once
            if on_error is not None:
                on_error(exc)
            return False
        return True

    def key_for(self, node_id: int) -> bytes | None:
        """The key of ``node_id``, or None for an unknown node."""
        entry = self._entries.get(node_id)
        return entry.key if entry else None

    def name_for(self, node_id: int) -> str | None:
        """The configured name of ``node_id``, if any."""
        entry = self._entries.get(node_id)
        return entry.name if entry else None

    def entry_for(self, node_id: int) -> NodeEntry | None:
        """Everything the registry says about ``node_id`` (interval, position), or None."""
        return self._entries.get(node_id)

    def node_ids(self) -> list[int]:
        """Known node ids, sorted."""
        return sorted(self._entries)
