"""``edgepost events``: read events from a broker (as a central operator would)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from gateway.events.render import iso_ms, render_json, render_line
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``events tail``."""
    p = sub.add_parser("events", help="subscribe to and print events",
                       description="Tools for reading edgepost events from a broker.")
    p.set_defaults(group_parser=p)
    esub = p.add_subparsers(title="events commands", metavar="COMMAND")
    tail = esub.add_parser(
        "tail", help="print events as they arrive (de-duplicated by event id)",
        description="Subscribe to edgepost events, decode CBOR or JSON, drop duplicates by "
        "event id, report sequence gaps, and print one line per event (like `mosquitto_sub`, "
        "but decoded).")
    add_connection_args(tail)
    tail.add_argument("-d", "--device", default="+", help="device id to follow (default: all)")
    tail.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    tail.add_argument("--status", action="store_true", help="also print state and health")
    tail.add_argument("--share", metavar="GROUP",
                      help="join MQTT 5 shared subscription GROUP (load-balanced consumers)")
    tail.add_argument("-n", "--count", type=int, default=0, help="exit after N events")
    tail.add_argument("-W", "--timeout", type=float, default=0,
                      help="exit after this many seconds (default: run until Ctrl-C)")
    tail.set_defaults(func=cmd_tail)


def add_connection_args(p: argparse.ArgumentParser) -> None:
    """Broker options shared by subscriber commands (mosquitto_sub spelling)."""
    p.add_argument("-H", "--host", default="127.0.0.1", help="broker host (default 127.0.0.1)")
    p.add_argument("-p", "--port", type=int, default=1883, help="broker port (default 1883)")
    p.add_argument("--prefix", default="edgepost/v1", help="topic prefix (default edgepost/v1)")
    p.add_argument("-u", "--username", help="username")
    p.add_argument("--password-file", type=Path,
                   help="file holding the password (never pass secrets on the command line)")
    p.add_argument("--cafile", type=Path, help="CA certificate for TLS")
    p.add_argument("--cert", type=Path, help="client certificate for TLS")
    p.add_argument("--key", type=Path, help="client key for TLS")


def options_from_args(args: argparse.Namespace) -> SubscriberOptions:
    password = args.password_file.read_text().strip() if args.password_file else None
    return SubscriberOptions(host=args.host, port=args.port, prefix=args.prefix,
                             device=getattr(args, "device", "+"),
                             include_status=getattr(args, "status", False),
                             share=getattr(args, "share", None), username=args.username,
                             password=password, ca_file=args.cafile, certfile=args.cert,
                             keyfile=args.key)


def format_received(msg: Received, as_json: bool) -> str:
    """The line ``events tail`` prints for one message."""
    if msg.kind == "event" and msg.event is not None:
        line = render_json(msg.device, msg.event) if as_json else render_line(msg.device, msg.event)
        if msg.gap is not None and not as_json:
            line = (f"# gap: {msg.gap.count} event(s) from {msg.device} missing "
                    f"(seq {msg.gap.first}..{msg.gap.last})\n") + line
        return line
    if msg.kind == "bad":
        return f"# undecodable message on {msg.topic}: {msg.error}"
    if as_json:
        return json.dumps({"device": msg.device, "kind": msg.kind, "doc": msg.document},
                          ensure_ascii=False, default=str)
    doc = msg.document
    ts = iso_ms(doc["ts"]) if isinstance(doc, dict) and isinstance(doc.get("ts"), int) else "-"
    return f"{ts} {msg.device} {msg.kind} {json.dumps(doc, ensure_ascii=False, default=str)}"


def cmd_tail(args: argparse.Namespace) -> int:
    done = threading.Event()
    events = 0

    def on_message(msg: Received) -> None:
        nonlocal events
        print(format_received(msg, args.json), flush=True)
        if msg.kind == "event":
            events += 1
            if args.count and events >= args.count:
                done.set()

    sub = EventSubscriber(options_from_args(args), on_message)
    sub.start()
    if sub.subscribed.wait(5):
        print(f"# subscribed to {', '.join(sub.filters())} on {args.host}:{args.port}",
              file=sys.stderr, flush=True)
    else:
        print(f"edgepost: waiting for broker {args.host}:{args.port} (not reachable yet)...",
              file=sys.stderr, flush=True)
    try:
        end = time.monotonic() + args.timeout if args.timeout else None
        while not done.wait(0.2):
            if end is not None and time.monotonic() >= end:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sub.stop()
    return 0
