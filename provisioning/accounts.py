"""Subscriber accounts (read-only certificates) and revocation of any identity."""

from __future__ import annotations

from pathlib import Path

from gateway.events.topics import check_device_id
from provisioning.broker_setup import refresh
from provisioning.ca import SiteCA
from provisioning.identities import Identity, ensure_identity
from provisioning.inventory import Device, Inventory
from provisioning.site import Site


def provision_subscriber(site: Site, ca: SiteCA, inv: Inventory, name: str,
                         renew: bool = False, operator: bool = False, central: bool = False) -> Identity:
    """Key + certificate for a central subscriber (CN = ``name``, e.g. ``sub-ops``).

    Readers may only read; ``operator`` accounts may also send commands (``.../cmd/...``);
    ``central`` accounts (``edgepost central``) may send commands and escalation notices.

    Subscriber and gateway names share the broker's user namespace, so a name already used
    by a gateway is refused: otherwise the subscriber would inherit that gateway's rights.
    """
    check_device_id(name)
    if inv.get("gateway", name) is not None:
        raise ValueError(f"{name!r} is a gateway id; pick another subscriber name (e.g. sub-{name})")
    existing = inv.get("subscriber", name)
    revoked = frozenset([existing.cert_serial]) if existing and existing.status == "revoked" and \
        existing.cert_serial else frozenset()
    if revoked and not renew:
        raise ValueError(f"subscriber {name} is revoked; re-issue with --renew")
    ident = ensure_identity(ca, site.private(site.subscriber_dir(name)), name, renew=renew,
                            revoked_serials=revoked)
    if ident.replaced_serial and ident.replaced_serial not in revoked:
        inv.retire_serial("subscriber", name, ident.replaced_serial)
    inv.upsert("subscriber", name, cert_serial=ident.serial,
               details={"role": "central" if central else "operator" if operator else "reader"})
    refresh(site, ca, inv)
    return ident


def revoke(site: Site, ca: SiteCA, inv: Inventory, name: str,
           kind: str | None = None) -> tuple[Device, list[Path]]:
    """Revoke a gateway or subscriber: CRL entry, removed from the ACL. Returns files written."""
    kinds = [kind] if kind else ["gateway", "subscriber"]
    found = [d for k in kinds if (d := inv.get(k, name)) is not None]
    if not found:
        raise KeyError(f"no gateway or subscriber named {name!r} in the inventory")
    if len(found) > 1:
        raise KeyError(f"{name!r} is both a gateway and a subscriber: pass --kind")
    dev = inv.revoke(found[0].kind, name)
    return dev, refresh(site, ca, inv)
