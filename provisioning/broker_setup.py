"""Write the broker's folder: server identity, mosquitto drop-in, ACL and CRL; keep it applied.

``refresh`` rewrites only the ACL and the CRL (after an enrolment or a revocation).
``sync_broker`` then brings the running broker up to date: mosquitto re-reads its ACL and
CRL on SIGHUP (checked with 2.0.11: a revoked certificate is refused after the reload, not
before). Where this machine runs the broker (``provision broker --pid-file``), the files
are copied into its folder and the broker is signalled; elsewhere the technician gets one
instruction to do it on the broker host.

``provision broker`` remembers its settings (port, bind address, folder, pid file and the
certificate's names) in the inventory, so re-running it without them keeps them.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from provisioning.acl import render_acl
from provisioning.broker_config import DEFAULT_ETC, BrokerPaths, render_mosquitto_conf
from provisioning.ca import SiteCA
from provisioning.identities import Identity, ensure_identity
from provisioning.inventory import Inventory
from provisioning.secrets import write_public
from provisioning.site import Site

CONF_NAME = "edgepost.conf"
BROKER_NAME = "broker"
DEFAULT_PORT = 8883
# What changes with an enrolment or a revocation; the rest needs a restart (new listener).
SYNCED_FILES = ("acl", "crl.pem")
RELOAD_HINT = "systemctl reload mosquitto"  # Debian's unit: ExecReload=/bin/kill -HUP $MAINPID


@dataclass(frozen=True)
class BrokerOptions:
    """Broker host names (for its certificate), listener, install folder and pid file.

    ``pid_file`` set means this machine runs the broker: after every change the ACL and CRL
    are copied into ``etc_dir`` and the process in the pid file gets SIGHUP.
    """

    dns_names: tuple[str, ...] = ("localhost",)
    ip_addresses: tuple[str, ...] = ("127.0.0.1",)
    port: int = DEFAULT_PORT
    bind: str = ""
    etc_dir: PurePosixPath = DEFAULT_ETC
    name: str = BROKER_NAME
    renew: bool = False
    pid_file: str | None = None

    def details(self) -> dict[str, Any]:
        """What the inventory records, so a re-run without options keeps them."""
        return {"dns": list(self.dns_names), "ip": list(self.ip_addresses), "port": self.port,
                "bind": self.bind, "etc_dir": str(self.etc_dir), "pid_file": self.pid_file}


def remembered_options(inv: Inventory, *, dns_names: tuple[str, ...] = (),
                       ip_addresses: tuple[str, ...] = (), port: int | None = None,
                       bind: str | None = None, etc_dir: PurePosixPath | None = None,
                       pid_file: str | None = None, renew: bool = False,
                       name: str = BROKER_NAME) -> tuple[BrokerOptions, list[str]]:
    """Options from what is given, else what the inventory recorded, else the defaults.

    Returns the options and the names of the settings taken from the inventory. A re-run
    must not silently move the listener or the install folder back to the defaults.
    ``pid_file=""`` stops managing a local broker.
    """
    prev = inv.get("broker", name)
    rec: dict[str, Any] = prev.details if prev else {}
    kept: list[str] = []

    def pick(given: Any, key: str, default: Any) -> Any:
        if given is not None:
            return given
        if rec.get(key) is not None:
            kept.append(key)
            return rec[key]
        return default

    if dns_names or ip_addresses:
        dns = dns_names or ("localhost",)
        ips = ip_addresses or (() if dns_names else ("127.0.0.1",))
    elif "dns" in rec or "ip" in rec:
        dns, ips = tuple(rec.get("dns", ())), tuple(rec.get("ip", ()))
        kept.append("dns/ip")
    else:
        dns, ips = ("localhost",), ("127.0.0.1",)
    opts = BrokerOptions(
        dns_names=dns, ip_addresses=ips, port=int(pick(port, "port", DEFAULT_PORT)),
        bind=str(pick(bind, "bind", "")), etc_dir=PurePosixPath(pick(etc_dir, "etc_dir", DEFAULT_ETC)),
        name=name, renew=renew, pid_file=pick(pid_file, "pid_file", None) or None)
    return opts, kept


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
        centrals = [d.name for d in accounts if d.details.get("role") == "central"]
        write_public(site.broker_dir / "acl", render_acl(gateways, subs, operators=ops, centrals=centrals))
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
    inv.upsert("broker", opts.name, cert_serial=ident.serial, details=opts.details())
    refresh(site, ca, inv)
    return ident


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _broker_pid(pid_file: Path) -> int | None:
    """The live mosquitto process named by ``pid_file``, or None when it is not running.

    A stale pid file may name a reused pid: SIGHUP would kill an unrelated process, so the
    process name is checked where /proc exists.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    comm = Path(f"/proc/{pid}/comm")
    if Path("/proc/self").exists():
        try:
            if comm.read_text().strip() != "mosquitto":
                return None
        except OSError:
            return None
    return pid


def sync_broker(site: Site, inv: Inventory, name: str = BROKER_NAME) -> str:
    """Bring the broker's ACL and CRL up to date; one line saying what was done or what to do."""
    rec = inv.get("broker", name)
    if rec is None or not site.broker_dir.is_dir():
        return ("no broker provisioned yet: run `edgepost provision broker` to write its "
                "config and ACL")
    etc = Path(str(rec.details.get("etc_dir", DEFAULT_ETC)))
    files = " and ".join(SYNCED_FILES)
    pid_file = rec.details.get("pid_file")
    if not pid_file:
        return (f"broker ACL is current in {site.broker_dir}/: copy {files} to {etc}/ on the "
                f"broker, then `{RELOAD_HINT}` there (SIGHUP; a revocation takes effect only then)")
    if not _same_dir(etc, site.broker_dir):
        if not etc.is_dir():
            return (f"broker folder {etc} does not exist on this machine: install the broker "
                    f"files there (see `edgepost provision broker --help`), then `{RELOAD_HINT}`")
        try:
            for f in SYNCED_FILES:
                write_public(etc / f, (site.broker_dir / f).read_bytes())
        except PermissionError:
            return (f"no permission to write {etc}/: re-run as a user who may (e.g. sudo), or "
                    f"copy {files} from {site.broker_dir}/ there and `{RELOAD_HINT}`")
    pid = _broker_pid(Path(pid_file))
    if pid is None:
        return (f"broker files updated in {etc}/; mosquitto is not running (no live pid in "
                f"{pid_file}): it reads them when it starts")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return f"broker files updated in {etc}/; mosquitto (pid {pid}) has gone: it reads them when it starts"
    except PermissionError:
        return (f"broker files updated in {etc}/ but this user may not signal mosquitto (pid {pid}): "
                f"run `sudo {RELOAD_HINT}`")
    return f"broker reloaded (SIGHUP to mosquitto pid {pid}): {files} in {etc}/ are in effect"
