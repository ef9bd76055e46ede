"""``edgepost events``: read events from a broker (as a central operator would)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from gateway.cli.groups import command_group
from gateway.config.mqtt import is_loopback
from gateway.events.render import iso_ms, render_json, render_line, visible
from gateway.events.topics import subscription
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions
from gateway.textfile import read_utf8
from gateway.uplink.diagnose import Diagnosis

# Exit statuses of `events tail` (also in its --help).
EXIT_OK = 0
EXIT_USAGE = 2  # bad options, unreadable password file
EXIT_CREDENTIALS = 3  # the broker refused the credentials or the client certificate
EXIT_TLS = 4  # TLS settings do not match the broker (plain/TLS port, untrusted broker cert)
EXIT_UNREACHABLE = 5  # no connection within --wait seconds (nothing listening, no route...)
EXIT_STATUS_HELP = """exit status:
  0  stopped by -n, -W or Ctrl-C
  2  bad options (e.g. unreadable --password-file)
  3  the broker refused the credentials or the client certificate (wrong password, not
     authorized, certificate revoked, from another CA, or missing)
  4  the TLS settings do not match the broker (TLS port without --cafile, plain port with
     it, broker certificate not signed by --cafile or not valid for -H)
  5  no connection within --wait seconds (nothing listening on the port, no route, unknown
     host, or the broker closed the connection without saying why)
Each failure is printed as one line naming the cause and the fix."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``events tail``."""
    _, esub = command_group(sub, "events", "subscribe to and print events",
                            "Tools for reading edgepost events from a broker.")
    tail = esub.add_parser(
        "tail", help="print events as they arrive (de-duplicated by event id)",
        description="Subscribe to edgepost events, decode CBOR or JSON, drop duplicates by "
        "event id, report sequence gaps, and print one line per event (like `mosquitto_sub`, "
        "but decoded).", epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_args(tail)
    tail.add_argument("-d", "--device", default="+", help="device id to follow (default: all)")
    tail.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    tail.add_argument("--status", action="store_true", help="also print state and health")
    tail.add_argument("--replies", action="store_true",
                      help="also print command replies (reply/<name>), decoded")
    tail.add_argument("--share", metavar="GROUP",
                      help="join MQTT 5 shared subscription GROUP (load-balanced consumers)")
    tail.add_argument("-n", "--count", type=int, default=0, help="exit after N events")
    tail.add_argument("-W", "--timeout", type=float, default=0,
                      help="exit after this many seconds (default: run until Ctrl-C)")
    tail.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                      help="give up (exit 5) if no connection is made within SECONDS "
                      "(default 10); once connected, lost connections are retried for ever")
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


class OptionsError(Exception):
    """A subscriber option cannot be used (the message says which and why)."""


def options_from_args(args: argparse.Namespace) -> SubscriberOptions:
    """Subscriber options from the command line; raises :class:`OptionsError`."""
    password = None
    if args.password_file:
        try:
            password = read_utf8(args.password_file).strip()
        except OSError as exc:
            raise OptionsError(f"cannot read --password-file {args.password_file}: "
                               f"{exc.strerror}") from None
    for flag, path in (("--cafile", args.cafile), ("--cert", args.cert), ("--key", args.key)):
        if path is not None and not path.is_file():
            raise OptionsError(f"{flag} {path}: no such file")
    if (args.cert is None) != (args.key is None):
        raise OptionsError("--cert and --key must be given together")
    return SubscriberOptions(host=args.host, port=args.port, prefix=args.prefix,
                             device=getattr(args, "device", "+"),
                             include_status=getattr(args, "status", False),
                             share=getattr(args, "share", None), username=args.username,
                             password=password, ca_file=args.cafile, certfile=args.cert,
                             keyfile=args.key)


def format_received(msg: Received, as_json: bool) -> str:
    """The line ``events tail`` prints for one message (for people: the device's strings made
    visible, never terminal control sequences)."""
    line = _formatted(msg, as_json)
    return line if as_json else visible(line)


def _formatted(msg: Received, as_json: bool) -> str:
    if msg.kind == "event" and msg.event is not None:
        return render_json(msg.device, msg.event) if as_json else render_line(msg.device, msg.event)
    if msg.kind == "gap" and msg.gap is not None:
        if as_json:
            return json.dumps({"device": msg.device, "kind": "gap", "first": msg.gap.first,
                               "last": msg.gap.last})
        return (f"# gap: {msg.gap.count} event(s) from {msg.device} lost (seq "
                f"{msg.gap.first}..{msg.gap.last}; the device has nothing older waiting: see "
                "its spool drop counters)")
    if msg.kind == "bad":
        return f"# undecodable message on {msg.topic}: {msg.error}"
    if msg.kind == "reply":
        from gateway.cli.cmd_cmd import render_reply, reply_json

        name = msg.topic.rsplit("/", 1)[-1]
        if as_json:
            return reply_json(msg.device, name, msg.document)
        ts = msg.document.get("ts") if isinstance(msg.document, dict) else None
        return f"{iso_ms(ts) if isinstance(ts, int) else '-'} {msg.device} reply " + \
            render_reply(msg.device, name, msg.document, one_line=True).removeprefix(f"{msg.device} ")
    if as_json:
        return json.dumps({"device": msg.device, "kind": msg.kind, "doc": msg.document},
                          ensure_ascii=False, default=str)
    doc = msg.document
    ts = iso_ms(doc["ts"]) if isinstance(doc, dict) and isinstance(doc.get("ts"), int) else "-"
    return f"{ts} {msg.device} {msg.kind} {json.dumps(doc, ensure_ascii=False, default=str)}"


def _exit_status(problem: Diagnosis) -> int:
    return EXIT_CREDENTIALS if problem.kind == "credentials" else (
        EXIT_TLS if problem.kind == "tls" else EXIT_UNREACHABLE)


def cmd_tail(args: argparse.Namespace) -> int:
    try:
        opts = options_from_args(args)
    except OptionsError as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if opts.password is not None and opts.ca_file is None and not is_loopback(args.host):
        print(f"edgepost: warning: the password is sent unencrypted to {args.host}; add "
              "--cafile to use TLS", file=sys.stderr, flush=True)
    done = threading.Event()
    events = 0
    status = EXIT_OK
    told: set[str] = set()

    def on_message(msg: Received) -> None:
        nonlocal events
        print(format_received(msg, args.json), flush=True)
        if msg.kind == "event":
            events += 1
            if args.count and events >= args.count:
                done.set()

    def on_problem(problem: Diagnosis) -> None:
        nonlocal status
        if problem.cause not in told:  # each cause once, not once per retry
            told.add(problem.cause)
            retry = "" if problem.permanent else "; retrying"
            print(f"edgepost: broker {args.host}:{args.port} {problem.message}{retry}",
                  file=sys.stderr, flush=True)
        if problem.permanent:  # retrying the same settings cannot help
            status = _exit_status(problem)
            done.set()

    if args.replies:
        # The subscriber's own filters plus the reply topics (an explicit list replaces them).
        opts.topics = [subscription(opts.prefix, opts.device, "event"),
                       subscription(opts.prefix, opts.device, "health"),
                       *([subscription(opts.prefix, opts.device, "state")] if opts.include_status
                         else []),
                       subscription(opts.prefix, opts.device, "reply")]
    sub = EventSubscriber(opts, on_message, on_problem)
    sub.start()
    try:
        give_up_s = min(args.wait, args.timeout) if args.timeout else args.wait
        deadline = time.monotonic() + give_up_s
        while not sub.subscribed.wait(0.1):
            if done.is_set():
                return status
            if time.monotonic() >= deadline:
                problem = sub.problem
                why = problem.message if problem else "did not answer"
                print(f"edgepost: giving up after {give_up_s:g} s: broker {args.host}:"
                      f"{args.port} {why}", file=sys.stderr, flush=True)
                return _exit_status(problem) if problem else EXIT_UNREACHABLE
        print(f"# subscribed to {', '.join(sub.filters())} on {args.host}:{args.port}",
              file=sys.stderr, flush=True)
        end = time.monotonic() + args.timeout if args.timeout else None
        while not done.wait(0.2):
            if end is not None and time.monotonic() >= end:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sub.stop()
    return status
