"""Render the configuration reference (docs/configuration.md) from the models themselves,
so the document cannot drift from the code (a test compares them)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from gateway.config.loader import _model_of
from gateway.config.root import GatewayConfig

HEADER = """# Gateway configuration reference

The gateway reads one TOML file (`edgepost gateway run -c FILE`). Every key is optional; the
defaults run the demo. Unknown keys are errors (with the nearest valid key suggested), so a
typo never passes silently. `edgepost gateway check-config FILE` validates a file, checks that
every file it names exists (certificates, keys, videos, models, label maps; asset names must be
in the cache) and prints the effective configuration with secrets redacted, as TOML that parses
back to the same configuration.

This page is generated from the configuration models: `python -m gateway.config.reference >
docs/configuration.md`.
"""


def render() -> str:
    """The whole reference as Markdown."""
    out = [HEADER]
    _section(out, GatewayConfig, ())
    return "\n".join(out).rstrip() + "\n"


def _section(out: list[str], model: type[BaseModel], path: tuple[str, ...]) -> None:
    leaves = []
    subs = []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        (subs if sub is not None else leaves).append((name, field, sub))
    if path:
        dotted = ".".join(p.removesuffix("[]") for p in path)
        header = f"[[{dotted}]]" if path[-1].endswith("[]") else f"[{dotted}]"
        out.append(f"\n## `{header}`\n")
        out.append(inspect.cleandoc(model.__doc__ or "") + "\n")
    if leaves:
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for name, field, _ in leaves:
            out.append(f"| `{name}` | {_type(field.annotation)} | {_default(field)} | "
                       f"{field.description} |")
    for name, field, sub in subs:
        origin = getattr(field.annotation, "__origin__", None)
        if origin in (dict, Mapping):  # a table of named sections, e.g. [cameras.<name>]
            _section(out, sub, (*path, name, "<name>"))
        elif origin in (list, tuple):  # an array of tables, e.g. [[cameras.<name>.rules.zones]]
            _section(out, sub, (*path, f"{name}[]"))
        else:
            _section(out, sub, (*path, name))


def _type(annotation: Any) -> str:
    # Frozen collections read as what they are in TOML: tuple[X, ...] an array, a read-only
    # mapping a table.
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is tuple and args and args[-1] is Ellipsis:
        return "list"
    if getattr(annotation, "__origin__", None) is Mapping:
        return "dict"
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("pathlib.", "").replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required" if field.default_factory is None else "(section)"
    if field.default is None:
        return "none"
    if isinstance(field.default, tuple):  # a frozen array: shown as the TOML array it is
        return "(section)" if not field.default else f"`{json.dumps(list(field.default))}`"
    return f"`{field.default}`"


if __name__ == "__main__":
    print(render(), end="")
