"""``edgepost central ...``: run the central station, manage its users, report losses."""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from gateway.cli.groups import command_group


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Attach ``central`` and its subcommands."""
    _, cs = command_group(sub, "central", "the central station: archive, loss accounting, web UI")

    run = cs.add_parser("run", help="ingest events into the archive and serve the web UI")
    _common(run)
    run.add_argument("--broker", help="HOST:PORT of the broker (overrides [broker])")
    run.add_argument("--group", help="shared-subscription group (instances in one group split events)")
    run.add_argument("--instance", help="this instance's client id (stable across restarts)")
    run.add_argument("--web-port", type=int, help="web UI port (0 = any free port)")
    run.add_argument("--no-web", action="store_true", help="ingest only")
    run.set_defaults(func=cmd_run)

    user = cs.add_parser("user", help="manage web users")
    user.set_defaults(group_parser=user)
    us = user.add_subparsers(title="user commands", metavar="COMMAND")
    add = us.add_parser("add", help="create (or reset) a user: the first admin comes from here")
    _common(add)
    add.add_argument("name")
    add.add_argument("--role", choices=("viewer", "operator", "admin"), default="admin")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_user_add)
    remove = us.add_parser("remove", help="delete a user (their open sessions end too)")
    _common(remove)
    remove.add_argument("name")
    remove.set_defaults(func=cmd_user_remove)

    gaps = cs.add_parser("gaps", help="sequence gaps per device, from the archive")
    _common(gaps)
    gaps.add_argument("--json", action="store_true", help="machine-readable output")
    gaps.set_defaults(func=cmd_gaps)

    ret = cs.add_parser("retention", help="remove events past their kind's retention ([retention]; "
                        "whole partitions on PostgreSQL)")
    _common(ret)
    ret.add_argument("--days", type=int, help="retention of kinds not listed in [retention] days "
                     "(overrides default_days)")
    ret.set_defaults(func=cmd_retention)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", type=Path, help="central TOML configuration")
    p.add_argument("--db", help="database URL: sqlite:///PATH or postgresql://... (overrides [database])")


def _config(args: argparse.Namespace) -> Any:
    from central.config import CentralConfigError, load_config

    broker: dict[str, Any] = {"group": getattr(args, "group", None),
                              "client_id": getattr(args, "instance", None)}
    if getattr(args, "broker", None):
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit():
            print(f"edgepost central: --broker must be HOST:PORT, not {args.broker!r}", file=sys.stderr)
            raise SystemExit(2)
        broker.update(host=host, port=int(port))
    web: dict[str, Any] = {"port": getattr(args, "web_port", None)}
    if getattr(args, "no_web", False):
        web["enabled"] = False
    try:
        return load_config(args.config, {"broker": broker, "web": web,
                                         "database": {"url": args.db}})
    except CentralConfigError as exc:
        print(f"edgepost central: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _store(args: argparse.Namespace) -> Any:
    from central.store import StoreUnavailableError, open_store

    cfg = _config(args)
    store = open_store(cfg.database.url)
    try:
        store.migrate()
    except StoreUnavailableError as exc:
        print(f"edgepost central: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    return store


def cmd_run(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    from central.grid import GridFileError
    from central.privacy import PlateKeyError
    from central.service import CentralService
    from central.store import StoreUnavailableError

    cfg = _config(args)
    try:
        service = CentralService(cfg)
    except (StoreUnavailableError, GridFileError, PlateKeyError) as exc:
        print(f"edgepost central: {exc}", file=sys.stderr)
        return 1

    def on_term(signum: int, frame: object) -> None:
        service.stop()
        if not cfg.web.enabled:
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    print(f"central: instance {cfg.broker.client_id} in group {cfg.broker.group}, "
          f"broker {cfg.broker.host}:{cfg.broker.port}, archive {service.store.kind}", flush=True)
    try:
        service.run()
    except KeyboardInterrupt:
        service.stop()
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create or reset a user with a hashed password."""
    from webkit.auth import PasswordPolicyError, hash_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("edgepost central: the passwords differ; nothing changed", file=sys.stderr)
            return 1
    try:
        hashed = hash_password(password)
    except PasswordPolicyError as exc:
        print(f"edgepost central: {exc}", file=sys.stderr)
        return 1
    store = _store(args)
    store.add_user(args.name, hashed, args.role)
    store.audit("cli", "user add", f"{args.name} ({args.role})")
    print(f"user {args.name} ({args.role}) saved")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    """Delete a user; a browser still logged in as them is logged out at its next request."""
    store = _store(args)
    if not store.remove_user(args.name):
        print(f"edgepost central: no user {args.name!r}; nothing changed", file=sys.stderr)
        return 1
    store.audit("cli", "user remove", args.name)
    print(f"user {args.name} removed")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    """Print open sequence gaps with the device's drop counters."""
    from central import accounting

    report = accounting.summary(_store(args))
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    if not report["gaps"]:
        print(f"no gaps in {len(report['devices'])} device(s)")
    for g in report["gaps"]:
        print(f"{g['device']}: seq {g['first']}..{g['last']} ({g['count']}) {g['status']}"
              f" device counters {g['device_counters'] or '-'}")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """Drop old events and old quarantined messages."""
    from central.config import EVENT_KINDS, CentralConfigError, load_config

    try:
        policy = load_config(args.config, {"retention": {"default_days": args.days}}).retention
    except CentralConfigError as exc:
        print(f"edgepost central: {exc}", file=sys.stderr)
        return 2
    store = _store(args)
    now = time.time_ns() // 1_000_000
    removed = store.apply_retention({k: now - policy.days_for(k) * 86_400_000 for k in EVENT_KINDS},
                                    now - policy.quarantine_days * 86_400_000)
    unit = "partition(s)" if store.kind == "postgresql" else "event(s)"
    longest = max(policy.days_for(k) for k in EVENT_KINDS)
    print(f"dropped {removed.pop('whole')} {unit} older than {longest} day(s)")
    print(f"deleted {removed.pop('quarantine')} quarantined message(s) older than "
          f"{policy.quarantine_days} day(s)")
    for kind, n in removed.items():
        print(f"deleted {n} {kind} event(s) older than {policy.days_for(kind)} day(s)")
    return 0
