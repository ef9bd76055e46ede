"""Write the broker's folder: server identity, mosquitto drop-in, ACL and CRL.

``refresh`` rewrites only the ACL and the CRL (after an enrolment or a revocation); the
broker picks them up on restart (``systemctl restart mosquitto``; a SIGHUP reloads the ACL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from provisioning.acl import render_acl
from provisioning.broker_config import BrokerPaths, render_mosquitto_conf
from provisioning.ca import SiteCA
from provisioning.identities import Identity, ensure_identity
from provisioning.inventory import Inventory
from provisioning.secrets import write_public
from provisioning.site import Site

CONF_NAME = "edgepost.conf"
DEFAULT_ETC = PurePosixPath("/etc/mosquitto/edgepost")


@dataclass(frozen=True)
class BrokerOptions:
    """Broker host names (for its certificate), listener and install folder."""

    dns_names: tuple[str, ...] = ("localhost",)
    ip_addresses: tuple[str, ...] = ("127.0.0.1",)
    port: int = 8883
    bind: str = ""
    etc_dir: PurePosixPath = DEFAULT_ETC
    name: str = "broker"
    renew: bool = False


def refresh_crl(ca: SiteCA, inv: Inventory) -> Path:
    """Re-issue the CA's CRL from the inventory's revoked serials."""
    return ca.write_crl(inv.revoked_serials())


def refresh(site: Site, ca: SiteCA, inv: Inventory) -> list[Path]:
    """Re-issue the CRL and, if the broker folder exists, its ACL and CRL copy."""
    crl = refresh_crl(ca, inv)
    written = [crl]
    if site.broker_dir.is_dir():
        write_public(site.broker_dir / "crl.pem", crl.read_bytes())
        gateways = [d.name for d in inv.list("gateway", status="active")]
        accounts = inv.list("subscriber", status="active")
        subs = [d.name for d in accounts if d.details.get("role", "reader") == "reader"]
        ops = [d.name for d in accounts if d.details.get("role") == "operator"]
        write_public(site.broker_dir / "acl", render_acl(gateways, subs, operators=ops))
        written += [site.broker_dir / "crl.pem", site.broker_dir / "acl"]
    return written


def provision_broker(site: Site, ca: SiteCA, inv: Inventory, opts: BrokerOptions) -> Identity:
    """Create/refresh ``site/broker/``: server key and certificate, conf, ACL, CRL."""
    out = site.private(site.broker_dir)
    ident = ensure_identity(ca, out, "server", server=True, dns_names=opts.dns_names,
                            ip_addresses=opts.ip_addresses, renew=opts.renew)
    paths = BrokerPaths(opts.etc_dir)
    write_public(out / CONF_NAME, render_mosquitto_conf(paths, opts.port, opts.bind))
    if ident.replaced_serial:
        inv.retire_serial("broker", opts.name, ident.replaced_serial)
    inv.upsert("broker", opts.name, cert_serial=ident.serial, details={
        "dns": list(opts.dns_names), "ip": list(opts.ip_addresses), "port": opts.port})
    refresh(site, ca, inv)
    return ident
