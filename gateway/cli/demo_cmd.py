"""``edgepost demo``: the whole path on one machine, with nothing configured.

Starts a private mosquitto on a free port, runs the gateway on its built-in defaults against
it, and prints what a central subscriber receives (state, health and events).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from gateway.broker import LocalMosquitto, MosquittoNotFound
from gateway.cli.events_cmd import format_received
from gateway.config import parse_config
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo", help="run gateway + local broker + subscriber on built-in defaults",
        description="Start a private mosquitto, run the gateway against it with demo events, "
        "and print what a subscriber receives. Stops after --duration seconds or Ctrl-C.")
    p.add_argument("--duration", type=float, default=20.0, help="seconds to run (default 20)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between demo events")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.service.gateway import GatewayService

    try:
        broker = LocalMosquitto()
    except MosquittoNotFound as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return 1
    with broker, tempfile.TemporaryDirectory(prefix="edgepost-demo-") as state:
        print(f"# demo: private mosquitto on 127.0.0.1:{broker.port}; spool in {state}",
              flush=True)
        config = parse_config({
            "mqtt": {"port": broker.port},
            "spool": {"path": str(Path(state) / "spool.sqlite3")},
            "health": {"interval_s": 5.0},
            "demo": {"interval_s": args.interval},
            "device": {"location": {"lat": 31.230416, "lon": 121.473701}},
        }, source="demo defaults")

        def show(msg: Received) -> None:
            print(format_received(msg, args.json), flush=True)

        sub = EventSubscriber(SubscriberOptions(port=broker.port, include_status=True), show)
        sub.start()
        sub.connected.wait(5)
        service = GatewayService(config)
        stop = threading.Event()
        try:
            service.run(stop, duration_s=args.duration)
        except KeyboardInterrupt:
            stop.set()
        sub.stop()
        print(f"# demo finished: {service.uplink.stats.acked} event(s) acknowledged by the broker",
              flush=True)
    return 0
