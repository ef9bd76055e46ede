"""Check that every file a configuration reads is there, before the service is started.

Why a separate pass: the models validate values, not the machine they will run on, and a
configuration is often checked on a laptop before it is copied to a Pi. ``check-config`` runs
this pass so that a wrong video, model, label map or key file is named at the desk (with the
key path that points at it), not discovered as a dead camera on the roadside.

Contract: :func:`missing_paths` never raises for a bad path; it returns one line per problem,
``<key path>: <what is wrong>; <what to do>``. Files the gateway creates itself (the spool,
replay state) are not inputs and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gateway.camera.config import CameraSourceConfig, SourceKind
from gateway.config.root import GatewayConfig

#: Path-typed fields the gateway writes rather than reads: their absence is normal.
CREATED_BY_GATEWAY = frozenset({"path", "replay_state_file"})


def missing_paths(config: GatewayConfig, *, asset_cache: Path | None = None) -> list[str]:
    """One line per file or asset the configuration names that cannot be read here."""
    problems: list[str] = []
    for key, value, field in _walk(config, ""):
        if isinstance(value, CameraSourceConfig):
            problems += _source(key, value)
        elif field in ("model", "labels") and isinstance(value, str):
            problems += _model_ref(key, value, asset_cache)
        elif isinstance(value, Path) and field not in CREATED_BY_GATEWAY:
            problems += _file(key, value)
    return problems


def _walk(obj: Any, path: str, field: str = "") -> Iterator[tuple[str, Any, str]]:
    yield path, obj, field
    if isinstance(obj, BaseModel) and getattr(obj, "enabled", True) is False:
        return  # a section that is off reads none of its files (e.g. [web] users_file)
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{path}.{name}".lstrip("."), name)
    elif isinstance(obj, Mapping):
        for name, value in obj.items():
            yield from _walk(value, f"{path}.{name}", field)
    elif isinstance(obj, tuple):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]", field)


def _file(key: str, path: Path) -> list[str]:
    if path.is_file():
        return []
    what = "is a directory, not a file" if path.is_dir() else "no such file"
    return [f"{key}: {path}: {what}; fix the path or create the file"]


def _source(key: str, source: CameraSourceConfig) -> list[str]:
    uri = source.uri
    if source.kind is SourceKind.FOLDER:
        if Path(uri).is_dir():
            return []
        return [f"{key}.uri: {uri}: no such folder of images; fix the path"]
    if source.kind is not SourceKind.OPENCV or uri.isdigit() or "://" in uri:
        return []  # a camera number or a stream URL: only the camera itself can answer
    if uri.startswith("/dev/"):
        # A live camera may be unplugged while the file is checked on a laptop; the gateway
        # reopens it when it appears, so this is not an error here.
        return []
    if Path(uri).is_file():
        return []
    return [f"{key}.uri: {uri}: no such video file; fix the path (or use a device "
            "index, /dev/video* or an rtsp:// URL)"]


def _model_ref(key: str, ref: str, asset_cache: Path | None) -> list[str]:
    from gateway.assets.fetch import AssetError
    from gateway.assets.resolve import resolve

    if Path(ref).is_file():
        return []
    try:
        resolve(ref, cache_dir=asset_cache)  # SHA-256 checked, as at start-up
    except AssetError as exc:
        return [f"{key}: {exc}"]
    except (KeyError, OSError, ValueError) as exc:  # a manifest that can't be read is one line too
        return [f"{key}: {ref!r}: {exc}"]
    return []
