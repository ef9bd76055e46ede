"""``edgepost gateway``: run the gateway service, validate its configuration."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from gateway.cli.groups import command_group
from gateway.config import ConfigError, effective_config, load_config, load_service_config, to_toml

log = logging.getLogger("edgepost")
EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``gateway run`` and ``gateway check-config``."""
    _, gsub = command_group(sub, "gateway", "run the gateway service or check its configuration",
                            "The gateway service: cameras, sensors, spool and MQTT uplink.")

    run = gsub.add_parser(
        "run", help="run the gateway (as systemd would)",
        description="Run the gateway until SIGTERM/SIGINT. Without --config the built-in "
        "defaults are used: device gw-demo, broker 127.0.0.1:1883, no event sources (demo "
        "events only with [demo] enabled = true, or run `edgepost demo`).")
    run.add_argument("-c", "--config", type=Path, help="TOML configuration file")
    run.add_argument("--duration", type=float, default=None,
                     help="stop after this many seconds (for tests and demos)")
    run.set_defaults(func=cmd_run)

    check = gsub.add_parser(
        "check-config", help="validate a configuration file and print the effective result",
        description="Validate FILE (unknown keys, types, ranges, and that every file it "
        "names exists: certificates, keys, videos, models and label maps, asset names in the "
        "cache) and print the effective configuration as TOML that parses back to the same "
        "configuration, with defaults filled in and secrets redacted. Exit status 0 if valid, "
        "2 if not.")
    check.add_argument("file", type=Path, help="TOML configuration file")
    check.set_defaults(func=cmd_check_config)


def cmd_check_config(args: argparse.Namespace) -> int:
    from gateway.config.paths import missing_paths

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(f"edgepost: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    problems = missing_paths(config)
    if problems:
        noun = "file" if len(problems) == 1 else "files"
        print(f"edgepost: invalid configuration: {args.file}: {len(problems)} missing {noun}:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    # The output is itself a configuration file: it parses back to the same configuration
    # (secrets redacted), so it can be saved and edited. Comments only in the header.
    sys.stdout.write(to_toml(effective_config(config),
                             header=f"effective configuration of {args.file} (valid; "
                             "defaults filled in, secrets redacted)"))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.service.health import limit_malloc_arenas

    limit_malloc_arenas()  # first: before numpy's BLAS and the camera threads start
    # Handle SIGTERM/SIGINT from the very start: a stop that arrives while the heavy modules
    # load must still end in a clean stop (spool closed, offline state), not a default kill.
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from gateway.service.gateway import GatewayService
    from gateway.uplink.spool import SpoolError

    try:
        config, overlay_left_out = load_service_config(args.config)
    except ConfigError as exc:
        print(f"edgepost: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        service = GatewayService(config, config_path=args.config)
    except (SpoolError, OSError) as exc:
        print(f"edgepost: cannot start: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    if overlay_left_out is not None:
        service.overlay_left_out(overlay_left_out)
    service.run(stop, duration_s=args.duration)
    return 0
