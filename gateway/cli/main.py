"""Entry point of the ``edgepost`` command: builds the parser from the group modules."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from gateway import __version__
from gateway.cli import (
    central_cmd,
    cmd_cmd,
    completion_cmd,
    demo_cmd,
    events_cmd,
    gateway_cmd,
    hil_cmd,
    models_cmd,
    plates_cmd,
    provision_cmd,
    sim_cmd,
)
from gateway.logsetup import configure_logging

# Groups are listed here once; each module owns its own arguments.
GROUPS = [gateway_cmd, events_cmd, cmd_cmd, models_cmd, plates_cmd, provision_cmd, hil_cmd, demo_cmd,
          central_cmd, sim_cmd, completion_cmd]


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand group attached."""
    parser = argparse.ArgumentParser(
        prog="edgepost",
        description=(
            "edgepost: edge gateway for public-safety sensing. Runs detection on cameras, "
            "reads serial sensor nodes and publishes compact events over MQTT."
        ),
    )
    parser.add_argument("--version", action="version", version=f"edgepost {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in GROUPS:
        group.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.INFO
    configure_logging(level)  # journald style (no timestamp, <N> priorities) under systemd
    func = getattr(args, "func", None)
    if func is None:
        # A group without a leaf (e.g. `edgepost gateway`) prints that group's help.
        (getattr(args, "group_parser", None) or parser).print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
