"""Write the gateway's node key registry (format owned by gateway/sensors/keys.py).

The file is parsed with the gateway's own parser before and after every change, so what we
write is exactly what the gateway will accept; it is written 0600 and atomically (the
gateway reloads it when its mtime changes and must never see half a file).
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.sensors.keys import parse_key_file
from provisioning.secrets import write_secret


def read_registry(path: Path) -> dict[int, tuple[bytes, str | None]]:
    """Current entries (empty if the file does not exist)."""
    if not path.exists():
        return {}
    return parse_key_file(path.read_text(encoding="utf-8"), "toml")


def render_registry(entries: dict[int, tuple[bytes, str | None]]) -> str:
    lines = ["# edgepost node keys -- written by `edgepost provision node`. Keep it 0600.", ""]
    for node_id in sorted(entries):
        key, name = entries[node_id]
        lines.append("[[nodes]]")
        lines.append(f"id = {node_id}")
        if name:
            lines.append(f"name = {json.dumps(name)}")
        lines.append(f'key = "{key.hex()}"')
        lines.append("")
    return "\n".join(lines)


def set_node_key(path: Path, node_id: int, key: bytes, name: str | None) -> bool:
    """Add or replace one node's entry; returns True if the file changed."""
    entries = read_registry(path)
    if entries.get(node_id) == (key, name):
        return False
    entries[node_id] = (key, name)
    text = render_registry(entries)
    parse_key_file(text, "toml")  # never write a file the gateway would refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    write_secret(path, text.encode())
    return True
