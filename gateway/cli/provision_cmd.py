"""``edgepost provision``: site CA, device identities, broker config, nodes, update bundles.

Runs on the technician's laptop (except the generated install.sh, which runs on the Pi).
Nothing here ever prints a key: commands name the files that hold them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger("edgepost.provision")
EXIT_USAGE = 2
EXIT_FAIL = 1


def _say(msg: str) -> None:
    print(msg, flush=True)


def _err(msg: str) -> int:
    print(f"edgepost provision: {msg}", file=sys.stderr, flush=True)
    return EXIT_FAIL


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``provision`` and its commands."""
    from provisioning.site import ENV_SITE

    p = sub.add_parser(
        "provision", help="site CA, device identities, broker ACLs, node flashing, bundles",
        description="Technician tooling. Everything is kept in a site directory "
        f"(--site, or ${ENV_SITE}, default ./site) that holds the CA key: keep it on an "
        "encrypted disk and back it up.")
    p.set_defaults(group_parser=p)
    p.add_argument("--site", type=Path, default=None, help=f"site directory (default ${ENV_SITE} or ./site)")
    ps = p.add_subparsers(title="provision commands", metavar="COMMAND")

    ca = ps.add_parser("ca", help="site certificate authority")
    ca.set_defaults(group_parser=ca)
    cas = ca.add_subparsers(title="ca commands", metavar="COMMAND")
    init = cas.add_parser("init", help="create the site CA (ECDSA P-256) and the bundle signing key",
                          description="Create site/ca (0700) with ca.key (0600), ca.pem and an empty "
                          "CRL, and the Ed25519 bundle signing key. Does nothing if they exist.")
    init.add_argument("--name", default="edgepost site CA", help="CA common name")
    init.set_defaults(func=cmd_ca_init)

    gw = ps.add_parser("gateway", help="identity, config, systemd unit and install.sh for a gateway",
                       description="Write site/gateways/ID/: ID.key (0600), ID.pem (CN=ID), ca.pem, "
                       "edgepost.toml, edgepost-gateway.service and install.sh. Copy the folder to "
                       "the Pi and run `sudo ./install.sh` there. Re-running keeps the key unless --renew.")
    gw.add_argument("device_id", help="gateway id (CN, MQTT user and topic level)")
    gw.add_argument("--broker-host", required=True, help="broker host name the gateway connects to")
    gw.add_argument("--broker-port", type=int, default=8883)
    gw.add_argument("--lat", type=float, help="fixed latitude of the gateway")
    gw.add_argument("--lon", type=float, help="fixed longitude of the gateway")
    gw.add_argument("--node-link", action="append", default=[], metavar="PORT",
                    help="serial port of a node link on the Pi (e.g. /dev/ttyAMA0); repeatable")
    gw.add_argument("--etc-dir", type=PurePosixPath, default=PurePosixPath("/etc/edgepost"),
                    help="where the files go on the Pi (default /etc/edgepost)")
    gw.add_argument("--exe", type=PurePosixPath, default=PurePosixPath("/opt/edgepost/venv/bin/edgepost"),
                    help="edgepost executable on the Pi")
    gw.add_argument("--watchdog", type=int, default=30, help="WatchdogSec of the unit")
    gw.add_argument("--renew", action="store_true", help="new key and certificate (old one is revoked)")
    gw.set_defaults(func=cmd_gateway)

    br = ps.add_parser("broker", help="mosquitto TLS listener, ACL and CRL for the site broker",
                       description="Write site/broker/: server key/cert, edgepost.conf (a mosquitto "
                       "conf.d drop-in), acl (from the inventory) and crl.pem. Install: copy to "
                       "--etc-dir, link edgepost.conf into /etc/mosquitto/conf.d/, restart mosquitto.")
    br.add_argument("--dns", action="append", default=[], help="broker DNS name for its certificate")
    br.add_argument("--ip", action="append", default=[], help="broker IP address for its certificate")
    br.add_argument("--port", type=int, default=8883)
    br.add_argument("--bind", default="", help="listen address (default all)")
    br.add_argument("--etc-dir", type=PurePosixPath, default=PurePosixPath("/etc/mosquitto/edgepost"))
    br.add_argument("--renew", action="store_true")
    br.set_defaults(func=cmd_broker)

    sb = ps.add_parser("subscriber", help="read-only subscriber account (certificate)",
                       description="Key and certificate for a central subscriber: reads edgepost/v1/#, "
                       "may publish nothing.")
    sb.add_argument("name", help="account name = certificate CN, e.g. sub-ops")
    sb.add_argument("--operator", action="store_true",
                    help="may also publish commands (edgepost/v1/+/cmd/#); default read-only")
    sb.add_argument("--renew", action="store_true")
    sb.set_defaults(func=cmd_subscriber)

    rv = ps.add_parser("revoke", help="revoke a gateway or subscriber (CRL + ACL)",
                       description="Add the certificate to the CRL and drop the account from the ACL. "
                       "Takes effect when the broker restarts with the new site/broker/ files.")
    rv.add_argument("name")
    rv.add_argument("--kind", choices=["gateway", "subscriber"])
    rv.set_defaults(func=cmd_revoke)

    crl = ps.add_parser("crl", help="re-issue the CRL (it must not expire: the broker would refuse everyone)")
    crl.set_defaults(func=cmd_crl)

    ls = ps.add_parser("list", help="show the inventory")
    ls.add_argument("--kind", choices=["gateway", "subscriber", "broker", "node"])
    ls.set_defaults(func=cmd_list)

    _add_node_parsers(ps)
    _add_bundle_parsers(ps)


def _site(args: argparse.Namespace) -> Any:
    from provisioning.site import Site, default_site_dir

    return Site(args.site or default_site_dir())


def _open(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(site, ca, inventory); raises CAError when there is no CA."""
    from provisioning.ca import load_ca
    from provisioning.inventory import Inventory

    site = _site(args)
    ca = load_ca(site.ca_dir)
    return site, ca, Inventory(site.inventory_path)


def cmd_ca_init(args: argparse.Namespace) -> int:
    from provisioning.bundle import init_signing_key
    from provisioning.ca import fingerprint, init_ca

    site = _site(args).ensure()
    ca, created = init_ca(site.ca_dir, args.name)
    _say(f"{'created' if created else 'kept existing'} site CA in {site.ca_dir}")
    _say(f"  certificate: {ca.cert_path} (SHA-256 {fingerprint(ca.cert)})")
    _say(f"  key:         {site.ca_dir / 'ca.key'} (0600; back it up offline, never copy it to a device)")
    pub, made = init_signing_key(site.signing_dir)
    _say(f"{'created' if made else 'kept existing'} bundle signing key; public key: {pub}")
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.config import ConfigError
    from provisioning.ca import CAError
    from provisioning.gateway_install import GatewayOptions, provision_gateway

    if (args.lat is None) != (args.lon is None):
        return _err("give both --lat and --lon, or neither")
    try:
        site, ca, inv = _open(args)
    except CAError as exc:
        return _err(str(exc))
    opts = GatewayOptions(device_id=args.device_id, broker_host=args.broker_host,
                          broker_port=args.broker_port, etc_dir=args.etc_dir, exe=args.exe,
                          lat=args.lat, lon=args.lon, node_link_ports=tuple(args.node_link),
                          watchdog_s=args.watchdog, renew=args.renew)
    with inv:
        try:
            ident = provision_gateway(site, ca, inv, opts)
        except (ValueError, ConfigError) as exc:
            return _err(str(exc))
        if ident.replaced_serial:
            from provisioning.broker_setup import refresh

            refresh(site, ca, inv)
    out = site.gateway_dir(args.device_id)
    _say(f"[1/4] identity   {'issued' if ident.created else 'kept'}: {ident.cert_path} "
         f"(CN={args.device_id}, serial {ident.serial[:16]}...), key {ident.key_path.name} 0600")
    _say(f"[2/4] config     {out / 'edgepost.toml'} (validated with the gateway's checker)")
    _say(f"[3/4] unit       {out / 'edgepost-gateway.service'} (Type=notify, WatchdogSec={args.watchdog})")
    _say(f"[4/4] installer  {out / 'install.sh'}")
    _say(f"next: copy {out}/ to the Pi, run `sudo ./install.sh` there, then "
         "`edgepost provision broker` so the broker ACL includes it")
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from provisioning.broker_setup import BrokerOptions, provision_broker
    from provisioning.ca import CAError

    try:
        site, ca, inv = _open(args)
    except CAError as exc:
        return _err(str(exc))
    opts = BrokerOptions(dns_names=tuple(args.dns) or ("localhost",),
                         ip_addresses=tuple(args.ip) or (() if args.dns else ("127.0.0.1",)),
                         port=args.port, bind=args.bind, etc_dir=args.etc_dir, renew=args.renew)
    with inv:
        try:
            ident = provision_broker(site, ca, inv, opts)
        except ValueError as exc:
            return _err(str(exc))
        n_gw = len(inv.list("gateway", status="active"))
        n_sub = len(inv.list("subscriber", status="active"))
    _say(f"broker identity {'issued' if ident.created else 'kept'}: {ident.cert_path}")
    _say(f"wrote {site.broker_dir}/edgepost.conf, acl ({n_gw} gateways, {n_sub} subscribers), crl.pem")
    _say(f"install: copy them to {args.etc_dir}/ (server.key 0600 owned by mosquitto), "
         f"ln -s {args.etc_dir}/edgepost.conf /etc/mosquitto/conf.d/, systemctl restart mosquitto")
    return 0


def cmd_subscriber(args: argparse.Namespace) -> int:
    from provisioning.accounts import provision_subscriber
    from provisioning.ca import CAError

    try:
        site, ca, inv = _open(args)
    except CAError as exc:
        return _err(str(exc))
    with inv:
        try:
            ident = provision_subscriber(site, ca, inv, args.name, renew=args.renew,
                                         operator=args.operator)
        except ValueError as exc:
            return _err(str(exc))
    rights = "read edgepost/v1/#, write edgepost/v1/+/cmd/#" if args.operator else \
        "read-only on edgepost/v1/#"
    _say(f"subscriber {args.name}: {'issued' if ident.created else 'kept'} {ident.cert_path}, "
         f"key {ident.key_path} (0600); ACL refreshed: {rights}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from provisioning.accounts import revoke
    from provisioning.ca import CAError

    try:
        site, ca, inv = _open(args)
    except CAError as exc:
        return _err(str(exc))
    with inv:
        try:
            dev, written = revoke(site, ca, inv, args.name, args.kind)
        except KeyError as exc:
            return _err(str(exc.args[0]))
    _say(f"revoked {dev.kind} {dev.name} (serial {dev.cert_serial}); wrote " + ", ".join(map(str, written)))
    _say("takes effect at the broker once it runs with the new crl.pem and acl: copy them and "
         "`systemctl restart mosquitto` (a restart also drops the device's open connection)")
    return 0


def cmd_crl(args: argparse.Namespace) -> int:
    from provisioning.broker_setup import refresh
    from provisioning.ca import CAError

    try:
        site, ca, inv = _open(args)
    except CAError as exc:
        return _err(str(exc))
    with inv:
        written = refresh(site, ca, inv)
    _say("re-issued: " + ", ".join(map(str, written)))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from provisioning.inventory import Inventory

    site = _site(args)
    if not site.inventory_path.exists():
        return _err(f"no inventory at {site.inventory_path}")
    with Inventory(site.inventory_path) as inv:
        for d in inv.list(args.kind):
            extra = " ".join(f"{k}={v}" for k, v in sorted(d.details.items()) if k != "bundle")
            _say(f"{d.kind:10} {d.name:24} {d.status:8} {d.updated_at} {extra}")
    return 0


def _add_node_parsers(ps: Any) -> None:
    pass


def _add_bundle_parsers(ps: Any) -> None:
    pass
