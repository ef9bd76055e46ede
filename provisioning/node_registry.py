"""Write the gateway's node key registry (format owned by gateway/sensors/keys.py).

The file is parsed with the gateway's own parser before and after every change, so what we
write is exactly what the gateway will accept; it is written 0600 and atomically (the
gateway reloads it when its mtime changes and must never see half a file).

Besides the key, each entry records what the gateway needs to know about the node: the
report interval it was enrolled with (``interval_s``, what silence is judged against) and
where it stands (``lat``/``lon``, carried by its events).
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.sensors.keys import KeyFileError, NodeEntry, parse_key_file, parse_node_file
from gateway.textfile import read_utf8
from provisioning.secrets import write_secret


def _text(path: Path) -> str:
    try:
        return read_utf8(path)
    except OSError as exc:
        raise KeyFileError(f"cannot read node registry {path}: {exc.strerror}") from None


def read_registry(path: Path) -> dict[int, tuple[bytes, str | None]]:
    """Current entries as (key, name) (empty if the file does not exist)."""
    if not path.exists():
        return {}
    return parse_key_file(_text(path), "toml")


def read_entries(path: Path) -> dict[int, NodeEntry]:
    """Current entries with interval and position (empty if the file does not exist)."""
    if not path.exists():
        return {}
    return parse_node_file(_text(path), "toml")


def _num(v: float) -> str:
    return repr(int(v)) if float(v).is_integer() else repr(float(v))


def render_registry(entries: dict[int, NodeEntry] | dict[int, tuple[bytes, str | None]]
                    ) -> str:
    lines = ["# edgepost node keys -- written by `edgepost provision node`. Keep it 0600.", ""]
    for node_id in sorted(entries):
        e = entries[node_id]
        entry = e if isinstance(e, NodeEntry) else NodeEntry(*e)
        lines.append("[[nodes]]")
        lines.append(f"id = {node_id}")
        if entry.name:
            lines.append(f"name = {json.dumps(entry.name)}")
        lines.append(f'key = "{entry.key.hex()}"')
        if entry.interval_s is not None:
            lines.append(f"interval_s = {_num(entry.interval_s)}")
        if entry.position is not None:
            lines.append(f"lat = {_num(entry.position[0])}")
            lines.append(f"lon = {_num(entry.position[1])}")
        lines.append("")
    return "\n".join(lines)


def set_node_key(path: Path, node_id: int, key: bytes, name: str | None, *,
                 interval_s: float | None = None,
                 position: tuple[float, float] | None = None) -> bool:
    """Add or replace one node's entry; returns True if the file changed.

    ``interval_s`` and ``position`` None keep what the entry had (a re-run without --lat/--lon
    does not forget where the node stands).
    """
    entries = read_entries(path)
    old = entries.get(node_id)
    new = NodeEntry(key, name,
                    interval_s if interval_s is not None else (old.interval_s if old else None),
                    *(position if position is not None
                      else (old.position if old and old.position else (None, None))))
    if old == new:
        return False
    entries[node_id] = new
    text = render_registry(entries)
    parse_node_file(text, "toml")  # never write a file the gateway would refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    write_secret(path, text.encode())
    return True
