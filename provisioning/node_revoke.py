"""Revoke a sensor node: its key leaves the gateway's key registry and the laptop, and the
inventory says revoked.

Why the laptop copy goes too: ``provision node`` keeps a node's key across re-runs (from
``site/nodes/<id>/node.json``); after a revocation the same board must get a *new* key when
it is enrolled again, or the revoked key would come back.

Contract: the registry is rewritten with the gateway's own renderer (0600, atomic), so the
running gateway reloads a valid file; nothing is changed unless the node is in the inventory.
"""

from __future__ import annotations

from pathlib import Path

from provisioning.inventory import Inventory
from provisioning.node_registry import read_entries, render_registry
from provisioning.secrets import write_secret
from provisioning.site import Site


class NodeRevokeError(RuntimeError):
    """The node cannot be revoked; ``str()`` says why and what to do."""


def revoke_node(site: Site, node_id: int) -> tuple[Path, str | None]:
    """Revoke node ``node_id``; returns (registry written, the node's gateway or None)."""
    if not site.inventory_path.exists():
        raise NodeRevokeError(f"no inventory at {site.inventory_path}: is --site right?")
    with Inventory(site.inventory_path) as inv:
        row = inv.get("node", str(node_id))
        if row is None:
            raise NodeRevokeError(f"node {node_id} is not in the inventory "
                                  "(edgepost provision list --kind node)")
        gateway = row.details.get("gateway")
        registry = (site.gateway_dir(gateway) / "node-keys.toml" if isinstance(gateway, str)
                    and gateway else site.node_registry)
        entries = read_entries(registry)
        if entries.pop(node_id, None) is not None:
            write_secret(registry, render_registry(entries).encode())
        saved = site.node_dir(node_id) / "node.json"
        saved.unlink(missing_ok=True)  # re-enrolment must make a new key
        if row.status != "revoked":
            inv.revoke("node", str(node_id))
    return registry, gateway if isinstance(gateway, str) else None
