"""Load, validate, print and fingerprint the gateway configuration.

Errors name the key path (``mqtt.tls.certfile``) and, for an unknown key, the nearest valid
one, so a technician can fix a file without reading the source.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from gateway.config.root import GatewayConfig
from gateway.textfile import read_toml

REDACTED = "********"


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is the full, human-readable explanation."""


def load_config(path: Path | None) -> GatewayConfig:
    """Read a TOML file (or use all defaults when ``path`` is None) and validate it."""
    if path is None:
        return parse_config({}, source="built-in defaults")
    raw = _read_toml(path)
    # Zones and lines edited on the gateway page live in an overlay beside the file, so the
    # provisioned file keeps its comments and mode; both go through the one validation below.
    from gateway.config.overlay import OverlayError, merge_overlay, overlay_path, read_overlay

    overlay = overlay_path(path)
    try:
        extra = read_overlay(overlay)
        if extra:
            raw = merge_overlay(raw, extra, str(overlay))
    except OverlayError as exc:
        raise ConfigError(str(exc)) from None
    return parse_config(raw, source=f"{path} + {overlay.name}" if extra else str(path))


def load_service_config(path: Path | None) -> tuple[GatewayConfig, str | None]:
    """:func:`load_config` for the running service: ``(config, None)``; or, when only the zones
    overlay stands in the way (damaged, or not what the page writes), the main file's own
    configuration and the reason the overlay was left out.

    Why not refuse as ``check-config`` does: the page rewrites the overlay in place on a Pi
    (docs/web.md), so a power cut during a save can leave it damaged, and an unattended
    checkpoint that refused to start over it would stay dark until a technician came. It runs
    on the main file's zones and lines instead, and the service reports the reason as a fault.
    Errors of the main file itself still raise :class:`ConfigError`."""
    try:
        return load_config(path), None
    except ConfigError as exc:
        from gateway.config.overlay import overlay_path

        if path is None or not overlay_path(path).exists():
            raise
        main = parse_config(_read_toml(path), source=str(path))  # the main file's own error
        return main, (f"{exc}; running on the zones and lines of {path.name} alone until "
                      f"{overlay_path(path).name} is fixed or removed")


def _read_toml(path: Path) -> dict[str, Any]:
    """The mapping in TOML file ``path``; :class:`ConfigError` saying why not."""
    try:
        return read_toml(path, ConfigError)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None


def parse_config(raw: dict[str, Any], source: str = "<config>") -> GatewayConfig:
    """Validate an already-parsed mapping."""
    try:
        return GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(explain(exc, source)) from None


def explain(exc: ValidationError, source: str) -> str:
    """The technician's text for a validation error: one line per problem, with key paths."""
    lines = [_describe(err) for err in exc.errors()]
    noun = "error" if len(lines) == 1 else "errors"
    return f"{source}: {len(lines)} configuration {noun}:\n  " + "\n  ".join(lines)


def _describe(err: Any) -> str:
    loc = tuple(str(p) for p in err["loc"])
    path = ".".join(loc) or "<root>"
    if err["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        suggestion = f"; did you mean '{'.'.join((*loc[:-1], hint[0]))}'?" if hint else ""
        return f"{path}: unknown key{suggestion} (valid here: {', '.join(sorted(valid))})"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {msg}"


def _valid_keys(parent: tuple[str, ...]) -> list[str]:
    """Field names of the model found by walking ``parent`` from the root."""
    model: type[BaseModel] = GatewayConfig
    parts = list(parent)
    while parts:
        field = model.model_fields.get(parts.pop(0))
        if field is None:
            return []
        sub = _model_of(field.annotation)
        if sub is None:
            return []
        if getattr(field.annotation, "__origin__", None) in (dict, Mapping) and parts:
            parts.pop(0)  # the user's key in a table of models, e.g. the camera name
        model = sub
    return list(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):  # Optional[Model], dict[str, Model], ...
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def effective_config(config: GatewayConfig) -> dict[str, Any]:
    """The configuration with all defaults filled in and secrets redacted (safe to print)."""
    return _redact(config.model_dump(mode="python"))


def _redact(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def config_hash(config: GatewayConfig) -> str:
    """Short fingerprint of the effective configuration (secrets excluded), for the state topic."""
    canonical = json.dumps(effective_config(config), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def to_toml(data: Mapping[str, Any], header: str = "") -> str:
    """Render a configuration mapping as TOML that parses back to the same mapping.

    Written by ``tomli-w`` (keys with spaces quoted, floats and nested arrays as TOML has
    them). TOML has no null, so None values are left out: every such key defaults to None, so
    the file still means the same configuration. ``header`` lines are written as ``#``
    comments at the top (the only place comments go, so a reader knows where the text ends).
    """
    import tomli_w  # small and pure Python, but only check-config and provisioning write TOML

    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + tomli_w.dumps(_plain(data))


def _plain(value: Any) -> Any:
    """``value`` with None dropped, tuples as lists, read-only tables and paths as TOML types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, StrEnum):  # written as its value, e.g. "ssd", not "DecoderKind.SSD"
        return str(value.value)
    return value
