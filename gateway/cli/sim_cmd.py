"""``edgepost sim district``: many synthetic gateways speaking the real protocol, for load tests."""

from __future__ import annotations

import argparse
import json
import sys

from gateway.cli.groups import command_group


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Attach ``sim`` and its subcommands."""
    _, ss = command_group(sub, "sim", "simulators for load tests")
    d = ss.add_parser("district", help="run many lightweight synthetic gateways against a broker")
    d.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT")
    d.add_argument("--gateways", type=int, default=300)
    d.add_argument("--rate", type=float, default=700.0, help="events/s, all gateways together")
    d.add_argument("--duration", type=float, default=30.0, help="seconds of producing")
    d.add_argument("--health-interval", type=float, default=10.0, help="seconds between health reports")
    d.add_argument("--outage-share", type=float, default=0.0, help="share of gateways that drop off once")
    d.add_argument("--outage-at", type=float, default=10.0, help="seconds into the run")
    d.add_argument("--outage-for", type=float, default=5.0, help="seconds offline")
    d.add_argument("--workers", type=int, default=4, help="threads driving the clients")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--ids", help="write the acknowledged event ids (hex, one a line) here")
    d.set_defaults(func=cmd_district)


def cmd_district(args: argparse.Namespace) -> int:
    """Run the district and print a JSON summary; exit 1 if events stayed unacknowledged."""
    from central.sim import District, DistrictPlan

    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        print(f"edgepost sim: --broker must be HOST:PORT, not {args.broker!r}", file=sys.stderr)
        return 2
    if not 0 <= args.outage_share <= 1 or args.gateways < 1 or args.rate <= 0:
        print("edgepost sim: need --gateways >= 1, --rate > 0 and 0 <= --outage-share <= 1",
              file=sys.stderr)
        return 2
    plan = DistrictPlan(gateways=args.gateways, rate=args.rate, duration_s=args.duration,
                        health_interval_s=args.health_interval, host=host, port=int(port),
                        workers=args.workers, outage_share=args.outage_share,
                        outage_at_s=args.outage_at, outage_s=args.outage_for, seed=args.seed)
    try:
        report = District(plan).run()
    except OSError as exc:
        print(f"edgepost sim: cannot reach the broker at {args.broker}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.summary()))
    if args.ids:
        with open(args.ids, "w") as f:
            f.writelines(i.hex() + "\n" for i in sorted(report.acked_ids))
    return 0 if report.acked == report.generated else 1
