"""Write a plain dict as TOML (sections of inline values): the gateway test configuration."""

from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps(data: dict[str, dict[str, Any]]) -> str:
    """``{section: {key: value}}`` -> TOML text."""
    out: list[str] = []
    for section, body in data.items():
        out.append(f"[{_key(section)}]")
        out += [f"{_key(k)} = {value(v)}" for k, v in body.items() if v is not None]
        out.append("")
    return "\n".join(out)
