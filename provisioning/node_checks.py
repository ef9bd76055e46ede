"""Checks that run before ``provision node`` writes anything, to the board or to the site.

Why here and not only in the node's self-test: the self-test runs after the files are on the
board, so a typo in ``--sensors`` used to leave a node.json on the board that the firmware
then refused, with a message that named no sensor. These checks use the same rules as the
firmware (its own ``validate`` from ``firmware/epnode/config.py``, run under CPython, and the
board's pin map from the firmware image) and name the bad value and the choices.

Contract: every function raises :class:`provisioning.node.NodeError` (one line, what to do)
or returns; none writes anything.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from provisioning.inventory import Inventory
from provisioning.node_registry import read_registry
from provisioning.site import Site


def _error(message: str) -> Exception:
    from provisioning.node import NodeError

    return NodeError(message)


def check_gateway(site: Site, gateway: str | None) -> None:
    """Refuse to enrol a node onto a gateway the site revoked (its key file is dead)."""
    if gateway is None or not site.inventory_path.exists():
        return
    with Inventory(site.inventory_path) as inv:
        row = inv.get("gateway", gateway)
    if row is not None and row.status == "revoked":
        raise _error(f"gateway {gateway} is revoked: enrol the node onto an active gateway "
                     f"(edgepost provision list --kind gateway), or re-enrol {gateway} first "
                     f"(edgepost provision gateway {gateway} --renew ...)")


def kept_name(site: Site, node_id: int, registry: Path) -> str | None:
    """The name the node already has (inventory, else key registry), for a re-run without
    ``--name``: re-enrolling must not wipe it."""
    if site.inventory_path.exists():
        with Inventory(site.inventory_path) as inv:
            row = inv.get("node", str(node_id))
        name = row.details.get("name") if row is not None else None
        if isinstance(name, str) and name:
            return name
    try:
        entry = read_registry(registry).get(node_id)
    except ValueError:
        return None
    return entry[1] if entry else None


def _firmware_validate(firmware_dir: Path) -> Any:
    """The firmware's own ``validate(raw, pin_sensors)`` (pure Python, runs on CPython)."""
    # The firmware imports its siblings as ``epnode.*`` (its root is / on the board).
    sys.path.insert(0, str(firmware_dir))
    try:
        return importlib.import_module("epnode.config").validate
    finally:
        sys.path.remove(str(firmware_dir))


def check_node_config(cfg: dict[str, Any], pin_map_json: bytes, pin_map: str,
                      firmware_dir: Path | None = None) -> None:
    """Check node.json against the board's pin map as the firmware will, naming the bad value."""
    sensors_table = json.loads(pin_map_json).get("sensors", {})
    for name in cfg.get("sensors", []):
        if name not in sensors_table:
            raise _error(f"--sensors: {name!r} is not a sensor of board {pin_map}; choose from "
                         f"{', '.join(sorted(sensors_table))} (firmware/board/pins/{pin_map}.json)")
    if firmware_dir is None:
        return
    validate = _firmware_validate(firmware_dir)
    if validate is None:
        return
    _, errors, provisioned = validate(cfg, sensors_table)
    if errors or not provisioned:
        raise _error("the node would refuse this configuration: " + "; ".join(errors)
                     + " (fix the --set / --sensors values)")
