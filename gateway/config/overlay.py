"""The zones overlay: zones and lines edited on the gateway page, in a file beside the config.

Why a separate file: the provisioned ``edgepost.toml`` carries comments, an owner and a mode
(0600) chosen by the installer; rewriting it from the page would lose all three. The page
writes only ``<config stem>.zones.toml`` (``edgepost.toml`` -> ``edgepost.zones.toml``), and
the loader merges it over the main file before the one strict validation.

Contract: the overlay may hold only ``[cameras.<name>.rules]`` ``zones`` and ``lines``, for
cameras the main file defines; each list replaces the main file's list of that camera. Anything
else in it is a :class:`~gateway.config.loader.ConfigError` naming the overlay. It is written
atomically (temporary file + rename) when the folder allows, else rewritten in place.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.textfile import read_toml

OVERLAY_KEYS = ("zones", "lines")
HEADER = ("Zones and lines edited on the gateway page (edgepost web). Merged over the main\n"
          "configuration file at start-up; each list here replaces that camera's list there.")


class OverlayError(ValueError):
    """The overlay file is not what the page writes; the text says which key to remove."""


def overlay_path(config_path: Path) -> Path:
    """Where the overlay of ``config_path`` lives (``edgepost.toml`` -> ``edgepost.zones.toml``)."""
    return config_path.with_name(f"{config_path.stem}.zones.toml")


def read_overlay(path: Path) -> dict[str, Any]:
    """The overlay's mapping, or ``{}`` when there is none."""
    try:
        return read_toml(path, OverlayError)
    except FileNotFoundError:
        return {}


def merge_overlay(raw: Mapping[str, Any], overlay: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``raw`` (the main file) with the overlay's zones and lines put in; ``raw`` is not changed."""
    extra = sorted(set(overlay) - {"cameras"})
    if extra:
        raise OverlayError(f"{name}: only [cameras.<name>.rules] zones and lines belong here; "
                           f"remove {extra}")
    merged = copy.deepcopy(dict(raw))
    cameras = merged.get("cameras", {})
    overlaid = overlay.get("cameras", {})
    if not isinstance(overlaid, Mapping):
        raise OverlayError(f"{name}: cameras must be tables [cameras.<name>.rules]; "
                           "remove the file to use the main configuration's zones")
    if not isinstance(cameras, Mapping):
        return merged  # the main file's own error: its validation names it
    for cam, section in overlaid.items():
        if cam not in cameras:
            raise OverlayError(f"{name}: camera {cam!r} is not in the main configuration "
                               f"(cameras: {sorted(cameras)}); remove its table")
        if not isinstance(section, Mapping) or set(section) - {"rules"}:
            raise OverlayError(f"{name}: cameras.{cam}: only the rules table belongs here")
        rules = section.get("rules", {})
        unknown = sorted(set(rules) - set(OVERLAY_KEYS)) if isinstance(rules, Mapping) else ["rules"]
        if unknown:
            raise OverlayError(f"{name}: cameras.{cam}.rules: only zones and lines belong here; "
                               f"remove {unknown}")
        if not isinstance(cameras[cam], dict) or not isinstance(cameras[cam].get("rules", {}), dict):
            continue  # as above: the main file's error
        target = cameras[cam].setdefault("rules", {})
        for key in OVERLAY_KEYS:
            if key in rules:
                target[key] = rules[key]
    return merged


def write_overlay(path: Path, data: Mapping[str, Any]) -> None:
    """Write the overlay (mode 0600): atomically where the folder is writable, else in place.

    In place is for the Pi, where ``/etc/edgepost`` belongs to root and the installer created
    the overlay file owned by the service user."""
    from gateway.config.loader import to_toml

    text = to_toml(data, header=HEADER).encode()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except PermissionError:
        if not path.exists():
            raise
        with path.open("r+b") as fh:
            fh.write(text)
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
