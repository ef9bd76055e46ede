"""``edgepost provision``: site CA, device identities, broker config, nodes, update bundles.

Runs on the technician's laptop (except the generated install.sh, which runs on the Pi).
Nothing here ever prints a key: commands name the files that hold them.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from gateway.cli.groups import command_group
from gateway.config import ConfigError

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

    p, ps = command_group(
        sub, "provision", "site CA, device identities, broker ACLs, node flashing, bundles",
        "Technician tooling. Everything is kept in a site directory "
        f"(--site, or ${ENV_SITE}, default ./site) that holds the CA key: keep it on an "
        "encrypted disk and back it up.")
    p.add_argument("--site", type=Path, default=None, help=f"site directory (default ${ENV_SITE} or ./site)")

    ca = ps.add_parser(
        "ca", help="site certificate authority",
        description="The site certificate authority (ECDSA P-256) that signs every gateway, "
        "broker and subscriber certificate, and the Ed25519 key that signs update bundles. "
        "Both live in the site directory with owner-only permissions.")
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
    gw.add_argument("--web-user", default="technician",
                    help="login name for the gateway page (default technician)")
    gw.add_argument("--web-password-stdin", action="store_true",
                    help="read the page password from stdin; without it a new login gets a random "
                    "password, printed once (an existing web-users.toml is kept)")
    gw.set_defaults(func=cmd_gateway)

    br = ps.add_parser("broker", help="mosquitto TLS listener, ACL and CRL for the site broker",
                       description="Write site/broker/: server key/cert, edgepost.conf (a mosquitto "
                       "conf.d drop-in), acl (from the inventory) and crl.pem. Install: copy to "
                       "--etc-dir, link edgepost.conf into /etc/mosquitto/conf.d/, restart mosquitto. "
                       "Settings not given are kept from the last run (recorded in the inventory).")
    br.add_argument("--dns", action="append", default=[], help="broker DNS name for its certificate")
    br.add_argument("--ip", action="append", default=[], help="broker IP address for its certificate")
    # No argparse defaults: a re-run without an option keeps what the inventory recorded.
    br.add_argument("--port", type=int, help="listener port (default 8883, or as last run)")
    br.add_argument("--bind", help="listen address (default all interfaces, or as last run; '' for all)")
    br.add_argument("--etc-dir", type=PurePosixPath,
                    help="folder of these files on the broker "
                    "(default /etc/mosquitto/edgepost, or as last run)")
    br.add_argument("--pid-file",
                    help="this machine runs the broker: after every enrolment or revocation copy acl and "
                    "crl.pem into --etc-dir and send SIGHUP to the pid in this file (Debian: "
                    "/run/mosquitto/mosquitto.pid); '' to stop")
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

    ce = ps.add_parser("central", help="identity of an `edgepost central` instance (certificate)",
                       description="Key and certificate for a central station: reads edgepost/v1/#, "
                       "writes only commands (edgepost/v1/+/cmd/#) and escalation notices "
                       "(edgepost/central/escalation). Revoke it like a subscriber.")
    ce.add_argument("name", help="account name = certificate CN, e.g. central-a")
    ce.add_argument("--renew", action="store_true")
    ce.set_defaults(func=cmd_central)

    rv = ps.add_parser("revoke", help="revoke a gateway or subscriber (CRL + ACL)",
                       description="Add the certificate to the CRL and drop the account from the ACL. "
                       "Takes effect when the broker reloads (SIGHUP) the new acl and crl.pem.")
    rv.add_argument("name")
    rv.add_argument("--kind", choices=["gateway", "subscriber"])
    rv.set_defaults(func=cmd_revoke)

    crl = ps.add_parser(
        "crl", help="re-issue the CRL (it must not expire: the broker would refuse everyone)",
        description="Re-issue the certificate revocation list and copy it to the broker. "
        "Mosquitto refuses every client once the CRL has expired, so run this at least yearly.")
    crl.set_defaults(func=cmd_crl)

    ls = ps.add_parser("list", help="show the inventory",
                       description="List every gateway, subscriber and node in the site "
                       "inventory with its state (active, revoked) and last enrolment.")
    ls.add_argument("--kind", choices=["gateway", "subscriber", "broker", "node"])
    ls.set_defaults(func=cmd_list)

    _add_node_parsers(ps)
    nr = ps.add_parser(
        "node-revoke", help="revoke a sensor node (its key leaves the gateway's registry)",
        description="Remove the node's key from its gateway's node-keys.toml in the site, "
        "delete the laptop's copy of its key (a re-enrolment makes a new one) and mark it "
        "revoked in the inventory. Copy the gateway's node-keys.toml to the Pi (or re-run "
        "its install) so the running gateway drops the key.")
    nr.add_argument("node_id", type=int, help="node id 1..65534")
    _add_delivery_args(nr)
    nr.set_defaults(func=cmd_node_revoke, gateway=None)
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


class _Opened(NamedTuple):
    """What a site command works on: the site folders, its CA and its open inventory."""

    site: Any
    ca: Any
    inv: Any


_SiteCommand = Callable[[argparse.Namespace, _Opened], int]


def _site_command(*errors: type[Exception]) -> Callable[[_SiteCommand], Callable[[argparse.Namespace], int]]:
    """Run a command inside the open site; ``errors`` it expects become one message.

    Every command that signs or changes the inventory does the same: load the CA (missing or
    loose permissions is the user's to fix), open the inventory and close it whatever
    happens, and turn the errors the command expects into ``edgepost provision: ...`` with
    exit status 1 instead of a traceback. Anything else is a bug and keeps its traceback.
    """

    def wrap(fn: _SiteCommand) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(fn)
        def run(args: argparse.Namespace) -> int:
            from provisioning.ca import CAError

            try:
                site, ca, inv = _open(args)
            except CAError as exc:
                return _err(str(exc))
            with inv:
                try:
                    return fn(args, _Opened(site, ca, inv))
                except errors as exc:
                    # KeyError's str() quotes its message; the message itself is what we mean.
                    return _err(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))

        return run

    return wrap


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


def _web_password(args: argparse.Namespace, bundle: Path) -> str | None:
    """The page password to hash: from stdin, or a new random one when the bundle has no login."""
    import secrets

    from provisioning.gateway_install import WEB_USERS_NAME

    if args.web_password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if (bundle / WEB_USERS_NAME).exists():
        return None
    return secrets.token_urlsafe(12)


def cmd_gateway(args: argparse.Namespace) -> int:
    if (args.lat is None) != (args.lon is None):
        return _err("give both --lat and --lon, or neither")
    return _gateway(args)


@_site_command(ValueError, ConfigError)
def _gateway(args: argparse.Namespace, o: _Opened) -> int:
    from provisioning.broker_setup import refresh, sync_broker
    from provisioning.gateway_install import GatewayOptions, provision_gateway

    opts = GatewayOptions(device_id=args.device_id, broker_host=args.broker_host,
                          broker_port=args.broker_port, etc_dir=args.etc_dir, exe=args.exe,
                          lat=args.lat, lon=args.lon, node_link_ports=tuple(args.node_link),
                          watchdog_s=args.watchdog, renew=args.renew, web_user=args.web_user,
                          web_password=_web_password(args, o.site.gateway_dir(args.device_id)))
    ident = provision_gateway(o.site, o.ca, o.inv, opts)
    if opts.web_password is not None and not args.web_password_stdin:
        _say(f"gateway page login: {opts.web_user} / {opts.web_password} (shown once; stored "
             "only as an argon2 hash in web-users.toml)")
    # The broker must know the gateway before it connects: a gateway outside the ACL has
    # every event refused. A renewal also puts the old certificate on the CRL.
    refresh(o.site, o.ca, o.inv)
    out = o.site.gateway_dir(args.device_id)
    _say(f"[1/4] identity   {'issued' if ident.created else 'kept'}: {ident.cert_path} "
         f"(CN={args.device_id}, serial {ident.serial[:16]}...), key {ident.key_path.name} 0600")
    _say(f"[2/4] config     {out / 'edgepost.toml'} (validated with the gateway's checker)")
    _say(f"[3/4] unit       {out / 'edgepost-gateway.service'} (Type=notify, WatchdogSec={args.watchdog})")
    _say(f"[4/4] installer  {out / 'install.sh'}")
    _say(sync_broker(o.site, o.inv))
    _say(f"next: copy {out}/ to the Pi and run `sudo ./install.sh` there")
    return 0


@_site_command(ValueError)
def cmd_broker(args: argparse.Namespace, o: _Opened) -> int:
    from provisioning.broker_setup import provision_broker, remembered_options, sync_broker

    opts, kept = remembered_options(
        o.inv, dns_names=tuple(args.dns), ip_addresses=tuple(args.ip), port=args.port,
        bind=args.bind, etc_dir=args.etc_dir, pid_file=args.pid_file, renew=args.renew)
    ident = provision_broker(o.site, o.ca, o.inv, opts)
    n_gw = len(o.inv.list("gateway", status="active"))
    n_sub = len(o.inv.list("subscriber", status="active"))
    _say(f"broker identity {'issued' if ident.created else 'kept'}: {ident.cert_path}")
    if kept:
        listen = f"{opts.bind or '*'}:{opts.port}"
        _say(f"kept from the last run ({', '.join(kept)}): listener {listen}, folder {opts.etc_dir}"
             + (f", pid file {opts.pid_file}" if opts.pid_file else ""))
    _say(f"wrote {o.site.broker_dir}/edgepost.conf, acl ({n_gw} gateways, {n_sub} subscribers), crl.pem")
    _say(f"install: copy them to {opts.etc_dir}/ (server.key 0600 owned by mosquitto), "
         f"ln -s {opts.etc_dir}/edgepost.conf /etc/mosquitto/conf.d/, systemctl restart mosquitto "
         "(listener and TLS changes need a restart)")
    _say(sync_broker(o.site, o.inv))
    return 0


def _issue_account(args: argparse.Namespace, o: _Opened, kind: str, rights: str,
                   hint: Callable[[Any], str] | None = None, **role: bool) -> int:
    """Issue (or keep) a subscriber-type identity, say where it is and what it may do, sync the broker.

    ``role`` is passed to ``provision_subscriber`` (``operator=``, ``central=``); ``hint(ident)``
    is an extra line shown before the broker sync (e.g. what to put in central.toml).
    """
    from provisioning.accounts import provision_subscriber
    from provisioning.broker_setup import sync_broker

    ident = provision_subscriber(o.site, o.ca, o.inv, args.name, renew=args.renew, **role)
    _say(f"{kind} {args.name}: {'issued' if ident.created else 'kept'} {ident.cert_path}, "
         f"key {ident.key_path} (0600); ACL refreshed: {rights}")
    if hint is not None:
        _say(hint(ident))
    _say(sync_broker(o.site, o.inv))
    return 0


@_site_command(ValueError)
def cmd_subscriber(args: argparse.Namespace, o: _Opened) -> int:
    rights = "read edgepost/v1/#, write edgepost/v1/+/cmd/#" if args.operator else \
        "read-only on edgepost/v1/#"
    return _issue_account(args, o, "subscriber", rights, operator=args.operator)


@_site_command(ValueError)
def cmd_central(args: argparse.Namespace, o: _Opened) -> int:
    from provisioning.acl import ESCALATION_TOPIC

    return _issue_account(
        args, o, "central", f"read edgepost/v1/#, write edgepost/v1/+/cmd/# and {ESCALATION_TOPIC}",
        lambda ident: f"in central.toml [broker]: certfile = \"{ident.cert_path}\", "
                      f"keyfile = \"{ident.key_path}\", client_id = \"{args.name}\"",
        central=True)


@_site_command(KeyError)
def cmd_revoke(args: argparse.Namespace, o: _Opened) -> int:
    from provisioning.accounts import revoke
    from provisioning.broker_setup import sync_broker

    dev, written = revoke(o.site, o.ca, o.inv, args.name, args.kind)
    _say(f"revoked {dev.kind} {dev.name} (serial {dev.cert_serial}); wrote " + ", ".join(map(str, written)))
    _say(sync_broker(o.site, o.inv))
    _say("after the reload the certificate is refused and the account has no rights; an open "
         "connection stays up until it reconnects or mosquitto restarts")
    return 0


@_site_command()
def cmd_crl(args: argparse.Namespace, o: _Opened) -> int:
    from provisioning.broker_setup import refresh, sync_broker

    written = refresh(o.site, o.ca, o.inv)
    _say("re-issued: " + ", ".join(map(str, written)))
    _say(sync_broker(o.site, o.inv))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from provisioning.inventory import Inventory

    site = _site(args)
    if not site.inventory_path.exists():
        return _err(f"no inventory at {site.inventory_path}")
    with Inventory(site.inventory_path) as inv:
        for d in inv.list(args.kind):
            extra = " ".join(f"{k}={v}" for k, v in sorted(d.details.items())
                             if k != "bundle" and v not in (None, ""))
            _say(f"{d.kind:10} {d.name:24} {d.status:8} {d.updated_at} {extra}")
    return 0


def _add_node_parsers(ps: Any) -> None:
    nd = ps.add_parser(
        "node", help="enrol a MicroPython sensor node on USB serial",
        description="Identify the board (raw REPL), make or keep its key, write node.json, compile "
        "the firmware with mpy-cross, copy what differs, verify SHA-256 read back from the board, "
        "run a self-test on the node, then record it in the inventory and the node key registry. "
        "Safe to re-run.")
    nd.add_argument("node_id", type=int, help="node id 1..65534 (in every frame it sends)")
    nd.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...")
    nd.add_argument("--name", help="human name, e.g. reservoir-north-pir")
    nd.add_argument("--gateway", help="gateway that reads this node (its registry gets the key)")
    nd.add_argument("--registry", type=Path, help="node key registry file to update (overrides --gateway)")
    nd.add_argument("--board", choices=["esp32", "pico_w"], help="force the pin map")
    nd.add_argument("--sensors", help="comma-separated sensors from the pin map, e.g. pir,battery")
    nd.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="extra node.json field, e.g. --set wake_interval_s=120; repeatable")
    nd.add_argument("--lat", type=float, help="where the node stands: latitude, decimal degrees "
                    "(its events carry it; kept on re-runs without it)")
    nd.add_argument("--lon", type=float, help="longitude, decimal degrees (with --lat)")
    nd.add_argument("--baud", type=int, default=115200)
    nd.add_argument("--dry-run", action="store_true", help="identify and plan; write nothing")
    nd.add_argument("--rotate-key", action="store_true", help="give the node a new key")
    nd.add_argument("--no-compile", action="store_true", help="copy .py sources instead of .mpy")
    _add_delivery_args(nd)
    nd.add_argument("--wait-frame", type=float, default=90.0, metavar="SECONDS",
                    help="after the key reached the gateway, wait this long for the node's first "
                    "frame on the broker (default 90; 0: do not wait)")
    nd.set_defaults(func=cmd_node)

    fl = ps.add_parser(
        "flash", help="write the MicroPython runtime onto a blank ESP32 (esptool) or Pico (UF2)",
        description="ESP32: erase and write the firmware .bin with esptool over --port. Pico: copy "
        "the .uf2 onto the RPI-RP2 drive (hold BOOTSEL while plugging in). Then run `provision node`.")
    fl.add_argument("board", choices=["esp32", "pico"])
    fl.add_argument("--firmware", type=Path, required=True, help="MicroPython .bin (ESP32) or .uf2 (Pico)")
    fl.add_argument("--port", help="ESP32 serial port")
    fl.add_argument("--drive", type=Path, help="Pico bootloader drive (default: found automatically)")
    fl.add_argument("--baud", type=int, default=460800)
    fl.add_argument("--no-erase", action="store_true", help="ESP32: do not erase flash first")
    fl.add_argument("--dry-run", action="store_true", help="show what would run")
    fl.set_defaults(func=cmd_flash)


def _add_delivery_args(p: argparse.ArgumentParser) -> None:
    """How the key (or its revocation) reaches the running gateway (cmd/node_key)."""
    p.add_argument("--via", metavar="OPERATOR",
                   help="operator identity of the site that sends the sealed key to the gateway "
                   "over the broker (default: the site's only operator)")
    p.add_argument("--broker", metavar="HOST:PORT",
                   help="site broker (default: the address the gateway was provisioned with)")
    p.add_argument("--no-deliver", action="store_true",
                   help="offline: only update the site's copy of the gateway's key file (copy it "
                   "to the Pi yourself)")


def _deliver(args: argparse.Namespace, action: str, node_id: int, key: bytes | None,
             name: str | None) -> Any:
    """Send the sealed key/revocation to ``args.gateway``; the open access, or an exit status."""
    from provisioning.node_delivery import DeliveryError, deliver, operator_access, seal_for

    site = _site(args)
    try:
        access = operator_access(site, args.via, args.broker, args.gateway)
        sealed = seal_for(site, args.gateway, node_id, action, key, name)
        _say(f"sending the {'key' if action == 'add' else 'revocation'} to gateway {args.gateway} "
             f"(sealed, cmd/node_key via {access.host}:{access.port})")
        reply = deliver(access, args.gateway, sealed)
    except DeliveryError as exc:
        return _err(str(exc))
    _say(f"      gateway {args.gateway} applied it ({reply.get('nodes', '?')} node key(s) now)")
    return access


def cmd_node(args: argparse.Namespace) -> int:
    import json
    import time

    from provisioning.node import NodeError, NodeOptions, provision_node

    settings: dict[str, Any] = {}
    for item in args.set:
        k, sep, v = item.partition("=")
        if not sep:
            return _err(f"--set {item!r}: use KEY=VALUE")
        try:
            settings[k] = json.loads(v)
        except json.JSONDecodeError:
            settings[k] = v
    if {"key", "node_id"} & set(settings):
        return _err("--set cannot change node_id or key")
    site = _site(args).ensure()
    opts = NodeOptions(node_id=args.node_id, port=args.port, name=args.name, gateway=args.gateway,
                       board=args.board, sensors=args.sensors.split(",") if args.sensors else None,
                       settings=settings, baudrate=args.baud, dry_run=args.dry_run,
                       rotate_key=args.rotate_key, compile_mpy=not args.no_compile,
                       lat=args.lat, lon=args.lon)
    t0 = time.monotonic()
    try:
        res = provision_node(site, opts, progress=_say, registry=args.registry)
    except NodeError as exc:
        return _err(str(exc))
    if res.dry_run:
        _say(f"dry run done: {len(res.written)} files would be written, {len(res.removed)} removed")
        return 0
    if args.gateway and not args.no_deliver and not _site(args).gateway_dir(args.gateway).joinpath(
            f"{args.gateway}.pem").is_file():
        _say(f"node {args.node_id} enrolled ({res.pin_map}); key NOT delivered: gateway {args.gateway} "
             "is not provisioned in this site (no certificate to seal the key for)")
        _say(f"next: copy {res.registry} to gateway {args.gateway} (/etc/edgepost/node-keys.toml)")
        return 0
    if not args.gateway or args.no_deliver:
        _say(f"node {args.node_id} enrolled ({res.pin_map}); press the board's reset button to start it")
        if args.gateway:
            _say(f"next: copy {res.registry} to gateway {args.gateway} (/etc/edgepost/node-keys.toml)")
        return 0
    return _deliver_and_watch(args, res, t0)


def _deliver_and_watch(args: argparse.Namespace, res: Any, t0: float) -> int:
    """The key to the gateway, then the node's first frame on the broker (the end of enrolment)."""
    import time

    from gateway.service.sensor_events import node_name
    from provisioning.node_delivery import DeliveryError, FrameWatch, operator_access
    from provisioning.node_registry import read_entries

    entry = read_entries(res.registry)[args.node_id]
    label = node_name(args.node_id, entry.name)
    watch = None
    if args.wait_frame > 0:
        try:  # subscribed before the key lands, so the node's first frame cannot be missed
            watch = FrameWatch(operator_access(_site(args), args.via, args.broker, args.gateway),
                               args.gateway, label).start()
        except DeliveryError as exc:
            return _err(str(exc))
    try:
        access = _deliver(args, "add", args.node_id, entry.key, entry.name)
        if isinstance(access, int):
            return access
        if watch is None:
            _say(f"node {args.node_id} enrolled and its key is on gateway {args.gateway}; reset the board")
            return 0
        _say(f"node {args.node_id} enrolled ({res.pin_map}); press the board's reset button now: "
             f"waiting up to {args.wait_frame:g} s for its first frame on the broker")
        try:
            ev = watch.wait(args.wait_frame, _say)
        except DeliveryError as exc:
            return _err(str(exc))
    finally:
        if watch is not None:
            watch.close()
    _say(f"node {args.node_id} is reporting: {ev.type.name.lower()} from {label} via gateway "
         f"{args.gateway} ({time.monotonic() - t0:.1f} s from the start)")
    return 0


def cmd_node_revoke(args: argparse.Namespace) -> int:
    from provisioning.node_revoke import NodeRevokeError, revoke_node

    try:
        registry, gateway = revoke_node(_site(args), args.node_id)
    except NodeRevokeError as exc:
        return _err(str(exc))
    _say(f"node {args.node_id} revoked; key removed from {registry}")
    provisioned = bool(gateway) and _site(args).gateway_dir(gateway).joinpath(f"{gateway}.pem").is_file()
    if gateway and not args.no_deliver and not provisioned:
        _say(f"revocation NOT delivered: gateway {gateway} is not provisioned in this site (no "
             "certificate to seal it for)")
    if gateway and (args.no_deliver or not provisioned):
        _say(f"next: copy {registry} to gateway {gateway} (/etc/edgepost/node-keys.toml); it "
             "reloads the file and rejects the node's frames from then on")
    elif gateway:
        args.gateway = gateway
        status = _deliver(args, "revoke", args.node_id, None, None)
        if isinstance(status, int):
            return status
        _say(f"gateway {gateway} rejects node {args.node_id}'s frames from now on")
    return 0


def cmd_flash(args: argparse.Namespace) -> int:
    from provisioning.flash import FlashError, flash_esp32, flash_pico

    try:
        if args.board == "esp32":
            if not args.port:
                return _err("--port is required for esp32")
            flash_esp32(args.port, args.firmware, baud=args.baud, erase=not args.no_erase,
                        dry_run=args.dry_run, progress=_say)
        else:
            flash_pico(args.firmware, drive=args.drive, dry_run=args.dry_run, progress=_say)
    except FlashError as exc:
        return _err(str(exc))
    return 0


def _add_bundle_parsers(ps: Any) -> None:
    bd = ps.add_parser(
        "bundle", help="signed update bundles (Ed25519)",
        description="Signed update bundles for gateways and nodes: a manifest of SHA-256 file "
        "hashes signed with the site's Ed25519 key. A device refuses an unsigned or tampered "
        "bundle and never downgrades unless forced.")
    bd.set_defaults(group_parser=bd)
    bs = bd.add_subparsers(title="bundle commands", metavar="COMMAND")
    cr = bs.add_parser("create", help="sign files into a bundle with the site signing key")
    cr.add_argument("sources", nargs="+", type=Path, help="files or folders (folders: their contents)")
    cr.add_argument("-o", "--output", type=Path, required=True)
    cr.add_argument("--target", choices=["gateway", "node"], required=True)
    cr.add_argument("--version", required=True, help="dotted version, e.g. 1.4.0")
    cr.set_defaults(func=cmd_bundle_create)
    for name, hlp in (("verify", "check signature, hashes and version (as a device does)"),
                      ("install", "verify, then install into --dest (device side)")):
        v = bs.add_parser(name, help=hlp)
        v.add_argument("bundle", type=Path)
        v.add_argument("--pubkey", type=Path, help="site bundle.pub (default: site/signing/bundle.pub)")
        v.add_argument("--target", choices=["gateway", "node"])
        v.add_argument("--force", action="store_true", help="allow installing an older or equal version")
        if name == "verify":
            v.add_argument("--installed", help="version installed on the device")
            v.set_defaults(func=cmd_bundle_verify)
        else:
            v.add_argument("--dest", type=Path, required=True, help="install folder (versions + current)")
            v.set_defaults(func=cmd_bundle_install)


def _pubkey(args: argparse.Namespace) -> Path:
    return args.pubkey or _site(args).signing_dir / "bundle.pub"


def cmd_bundle_create(args: argparse.Namespace) -> int:
    from provisioning.bundle import BundleError, create_bundle, load_signing_key

    key_path = _site(args).signing_dir / "bundle.key"
    if not key_path.exists():
        return _err(f"no signing key at {key_path}: run `edgepost provision ca init`")
    try:
        m = create_bundle(args.output, args.sources, args.target, args.version, load_signing_key(key_path))
    except (BundleError, FileNotFoundError, PermissionError) as exc:
        return _err(str(exc))
    _say(f"signed {args.output}: {m.target} {m.version}, {len(m.files)} files")
    return 0


def cmd_bundle_verify(args: argparse.Namespace) -> int:
    from provisioning.bundle import BundleError, load_public_key, verify_bundle

    try:
        m = verify_bundle(args.bundle, load_public_key(_pubkey(args)), target=args.target,
                          installed=args.installed, force=args.force)
    except (BundleError, FileNotFoundError) as exc:
        return _err(str(exc))
    _say(f"OK: {m.target} {m.version}, {len(m.files)} files, signature and hashes verified")
    return 0


def cmd_bundle_install(args: argparse.Namespace) -> int:
    from provisioning.bundle import BundleError, install_bundle, load_public_key

    try:
        m = install_bundle(args.bundle, load_public_key(_pubkey(args)), args.dest,
                           target=args.target or "gateway", force=args.force)
    except (BundleError, FileNotFoundError) as exc:
        return _err(str(exc))
    _say(f"installed {m.target} {m.version} into {args.dest}/{m.version} (current -> {m.version})")
    return 0
