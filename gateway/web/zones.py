"""Zones and lines edited on the page: validated, saved to the overlay, swapped in live.

Why this order: the new camera section is built from the running configuration with
:func:`gateway.strict.revalidated` (every field and cross-field check of the TOML loader runs
again, the running object is never changed); only a valid configuration is written to the
overlay beside the provisioned file, and only a written one is handed to the running gateway
(``GatewayService.swap_config``), so what runs is always what the next start will load.

Contract: :func:`save_rules` returns the new config hash (also in the retained state) or raises
:class:`ZoneEditError` with the loader's one-line-per-problem text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from gateway.config.loader import explain
from gateway.config.overlay import OverlayError, overlay_path, read_overlay, write_overlay
from gateway.strict import revalidated


class ZoneEditError(ValueError):
    """The edited zones or lines cannot be used; the text says what to change."""


def rules_of(service: Any, camera: str) -> dict[str, Any]:
    """The camera's zones and lines as they run now (JSON-ready)."""
    cam = _camera_config(service, camera)
    return {"zones": [z.model_dump(mode="json") for z in cam.rules.zones],
            "lines": [ln.model_dump(mode="json") for ln in cam.rules.lines]}


def _camera_config(service: Any, camera: str) -> Any:
    cam = service.config.cameras.get(camera)
    if cam is None:
        raise ZoneEditError(f"no camera {camera!r}; cameras: {sorted(service.config.cameras)}")
    return cam


def save_rules(service: Any, camera: str, zones: Sequence[Mapping[str, Any]],
               lines: Sequence[Mapping[str, Any]]) -> str:
    """Validate, write ``<config>.zones.toml`` and run with the new zones and lines."""
    from gateway.vision.pipeline import ReconfigureError

    if service.config_path is None:
        raise ZoneEditError("this gateway was started without a configuration file, so "
                            "zones cannot be saved: start it with `edgepost gateway run -c FILE`")
    current = service.config
    cam = _camera_config(service, camera)
    try:
        rules = revalidated(cam.rules, zones=list(zones), lines=list(lines))
        new_cam = revalidated(cam, rules=rules)
        new_config = revalidated(current, cameras={**current.cameras, camera: new_cam})
    except ValidationError as exc:
        raise ZoneEditError(explain(exc, f"cameras.{camera}.rules")) from None
    path = overlay_path(service.config_path)
    if service.overlay_left_out_because is not None:
        # the service started without the overlay (damaged, service.overlay_left_out): nothing
        # in it is in force, so the save starts a new one from what runs, the edit included
        overlay: dict[str, Any] = {}
    else:
        try:
            overlay = read_overlay(path)
        except OverlayError as exc:
            raise ZoneEditError(f"{exc}; fix or remove that file, then save again") from None
        if not isinstance(overlay.get("cameras", {}), dict):
            raise ZoneEditError(f"{path}: cameras must be tables [cameras.<name>.rules]; fix or "
                                "remove that file, then save again")
    cams = dict(overlay.get("cameras", {}))
    cams[camera] = {"rules": {"zones": rules_of_config(new_cam)["zones"],
                              "lines": rules_of_config(new_cam)["lines"]}}
    try:
        write_overlay(path, {**overlay, "cameras": cams})
    except OSError as exc:
        raise ZoneEditError(f"cannot write {path}: {exc.strerror}; the service user needs "
                            "write access to it (install.sh creates it)") from None
    service.overlay_left_out_because = None  # what the file holds now is what runs
    try:
        return str(service.swap_config(new_config))
    except (ReconfigureError, ValueError) as exc:
        raise ZoneEditError(f"saved to {path.name}, but not applied now: {exc}") from None


def rules_of_config(cam: Any) -> dict[str, list[dict[str, Any]]]:
    """Zones and lines of a camera section as TOML/JSON-ready dicts (defaults left out)."""
    return {"zones": [z.model_dump(mode="json", exclude_defaults=True) for z in cam.rules.zones],
            "lines": [ln.model_dump(mode="json", exclude_defaults=True) for ln in cam.rules.lines]}
