"""``edgepost cmd``: send one command to a gateway and print its decoded reply.

Why a tool: commands travel as CBOR on ``<prefix>/<device>/cmd/<name>`` and the reply comes
back on ``.../reply/<name>`` matched by MQTT 5 correlation data; an operator with
``mosquitto_pub`` sees neither the pairing nor the content. This command subscribes to the
reply first, then sends, waits for the reply with its own correlation data, decodes it (CBOR
or JSON), writes binary fields (a snapshot JPEG, a clip) to a file, and ends with an exit
status a script can test.

Contract: one request, at most one reply printed; a request is never resent (a command may
have effects, e.g. ``level``). No reply within ``--timeout`` is exit 6 with the gateway's
last known state (offline since..., or online but silent) in the message.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.cli.events_cmd import (
    EXIT_CREDENTIALS,
    EXIT_TLS,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    OptionsError,
    add_connection_args,
    options_from_args,
)
from gateway.events.render import visible

EXIT_OK = 0
EXIT_REFUSED = 1  # the gateway answered {ok: false, error}
EXIT_NO_REPLY = 6  # nothing came back within --timeout
EXIT_STATUS_HELP = """exit status:
  0  the gateway answered ok (the reply is printed)
  1  the gateway answered with an error (unknown command, bad argument): printed on stderr
  2  bad options (argument syntax, unreadable --password-file, cannot write -o FILE)
  3  the broker refused the credentials, or refused to let this identity send commands
  4  the TLS settings do not match the broker
  5  no connection to the broker within --wait seconds
  6  no reply within --timeout seconds (the message says whether the gateway is offline)"""


@dataclass(frozen=True)
class CommandSpec:
    """A documented gateway command: what it does, its arguments, its binary reply field."""

    summary: str
    arguments: str = ""
    binary: str | None = None  # reply field holding bytes (base64 text in JSON replies)
    suffix: str = ".bin"  # file name ending for -o when the binary field is saved


#: Every command the gateway registers (gateway/service, gateway/provisioning hooks), as
#: documented in docs/protocol.md section 4.1. A test keeps this list and the code together.
COMMANDS: dict[str, CommandSpec] = {
    "ping": CommandSpec("liveness check; reply {pong: true}"),
    "health": CommandSpec("a health report now; reply {health: {...}}"),
    "state": CommandSpec("the state document (online, versions, config_hash, level)"),
    "snapshot": CommandSpec("annotated JPEG of a camera's newest frame; reply {camera, jpeg}",
                            "camera=NAME (default: the first camera)", "jpeg", ".jpg"),
    "level": CommandSpec("show or force the site alert level; reply: the level state",
                         "level=NAME|null for_s=SECONDS by=TEXT (none: only report)"),
    "clips": CommandSpec("the newest evidence clips with their state; reply {clips: [...]}",
                         "limit=N"),
    "clip": CommandSpec("one chunk of a ready clip; -o FILE fetches every chunk and checks "
                        "the SHA-256", "id=CLIP chunk=N", "data", ".mp4"),
    "node_key": CommandSpec("install or revoke a node key (sealed for this gateway; sent by "
                            "`edgepost provision node`, not typed by hand)",
                            "sealed=BYTES"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``cmd``."""
    listing = "\n".join(f"  {name:<9} {spec.summary}" + (f"\n  {'':<9} args: {spec.arguments}"
                                                         if spec.arguments else "")
                        for name, spec in COMMANDS.items())
    p = sub.add_parser(
        "cmd", help="send a command to a gateway and print the decoded reply",
        description="Send COMMAND to gateway DEVICE through the broker and print its reply, "
        "decoded. Arguments are KEY=VALUE; a VALUE that reads as JSON (a number, true, null, "
        "a list) is sent as that, anything else as text. Binary reply fields (a snapshot "
        "JPEG, a clip) are written to -o FILE.\n\ncommands:\n" + listing +
        "\n\nexamples:\n  edgepost cmd cp-north-1 ping\n"
        "  edgepost cmd cp-north-1 snapshot camera=north -o north.jpg\n"
        "  edgepost cmd --json cp-north-1 health | jq .reply.health.spool",
        epilog=EXIT_STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_args(p)
    p.add_argument("device", help="gateway device id")
    p.add_argument("command", help="command name (see the list above; others are sent as given)")
    p.add_argument("args", nargs="*", metavar="KEY=VALUE", help="command arguments")
    p.add_argument("-o", "--out", type=Path, metavar="FILE",
                   help="write the reply's binary field (snapshot JPEG, clip) to FILE")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {device, command, ok, reply}; bytes as base64")
    p.add_argument("-t", "--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="wait this long for the reply (default 10)")
    p.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                   help="give up (exit 5) if no broker connection within SECONDS (default 10)")
    p.set_defaults(func=cmd_cmd)


def parse_arguments(items: list[str]) -> dict[str, Any]:
    """``["camera=north", "for_s=60"]`` -> ``{"camera": "north", "for_s": 60}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise OptionsError(f"argument {item!r}: write KEY=VALUE, e.g. camera=north")
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # plain text needs no quotes on the command line
        out[key] = value
    return out


class CommandClient:
    """One MQTT connection that sends commands to a device and collects the replies."""

    def __init__(self, args: argparse.Namespace) -> None:
        from gateway.events import Format, load_document
        from gateway.events.errors import EventDecodeError
        from gateway.events.topics import Topics
        from gateway.subscriber import EventSubscriber

        self._load = load_document
        self._format = Format
        self._decode_error = EventDecodeError
        self.topics = Topics(args.device, args.prefix)
        opts = options_from_args(args)
        opts.topics = [f"{self.topics.base}/reply/+", self.topics.state]
        self._lock = threading.Lock()
        self._waiting: dict[bytes, threading.Event] = {}
        self._replies: dict[bytes, Any] = {}
        self.state: dict[str, Any] | None = None  # the device's retained state, if any
        self.refused: str | None = None  # why the broker refused our publish, if it did
        self.sub = EventSubscriber(opts, lambda msg: None, self._problem)
        self.permanent = threading.Event()
        self.sub.client.on_message = self._on_message  # correlation data is needed here
        self.sub.client.on_publish = self._on_publish

    def _problem(self, problem: Any) -> None:
        if problem.permanent:
            self.permanent.set()

    def _on_message(self, client: Any, userdata: object, msg: Any) -> None:
        props = getattr(msg, "properties", None)
        fmt = self._format.from_content_type(getattr(props, "ContentType", None), msg.payload
                                             ) if msg.payload else self._format.CBOR
        try:
            doc = self._load(msg.payload, fmt) if msg.payload else None
        except self._decode_error as exc:
            doc = {"ok": False, "error": f"undecodable reply: {exc}"}
        if msg.topic == self.topics.state:
            self.state = doc if isinstance(doc, dict) else None
            return
        corr = getattr(props, "CorrelationData", None)
        with self._lock:
            if corr in self._waiting:
                self._replies[corr] = (doc, fmt)
                self._waiting[corr].set()

    def _on_publish(self, client: Any, userdata: object, mid: int, reason: Any,
                    properties: Any) -> None:
        if reason is not None and getattr(reason, "is_failure", False):
            self.refused = str(reason)

    def connect(self, wait_s: float) -> int:
        """Connect and subscribe; an exit status other than 0 when that fails."""
        self.sub.start()
        deadline = time.monotonic() + wait_s
        while not self.sub.subscribed.wait(0.05):
            if self.permanent.is_set() or time.monotonic() >= deadline:
                problem = self.sub.problem
                why = problem.message if problem else "did not answer"
                print(f"edgepost: broker {self.sub.opts.host}:{self.sub.opts.port} {why}",
                      file=sys.stderr)
                if problem is None:
                    return EXIT_UNREACHABLE
                return {"credentials": EXIT_CREDENTIALS, "tls": EXIT_TLS}.get(
                    problem.kind, EXIT_UNREACHABLE)
        return EXIT_OK

    def request(self, name: str, arguments: dict[str, Any], timeout_s: float
                ) -> tuple[Any, Any] | None:
        """Send ``cmd/<name>`` once; the decoded reply and its format, or None on timeout."""
        import cbor2
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        corr = uuid.uuid4().bytes
        done = threading.Event()
        with self._lock:
            self._waiting[corr] = done
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = corr
        props.ContentType = "application/cbor"
        payload = cbor2.dumps(arguments) if arguments else b""
        self.sub.client.publish(self.topics.cmd(name), payload, qos=1, properties=props)
        done.wait(timeout_s)
        with self._lock:
            self._waiting.pop(corr, None)
            return self._replies.pop(corr, None)

    def close(self) -> None:
        self.sub.stop()


def _plain(value: Any) -> Any:
    """A reply with bytes shown as base64 text (JSON cannot hold bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render_reply(device: str, name: str, doc: Any, *, saved: str | None = None,
                 one_line: bool = False) -> str:
    """Human form of a reply: ``ok`` or ``error`` first, then one ``key: value`` per line
    (``one_line``: separated by ``; `` instead, as ``events tail`` prints)."""
    if not isinstance(doc, dict):
        return visible(f"{device} {name}: {json.dumps(_plain(doc), ensure_ascii=False)}")
    lines = [f"{device} {name}: " + ("ok" if doc.get("ok") else f"error: {doc.get('error')}")]
    spec = COMMANDS.get(name)
    for key, value in doc.items():
        if key in ("ok", "error"):
            continue
        if isinstance(value, bytes | bytearray) or (spec and key == spec.binary):
            size = len(value) if isinstance(value, bytes | bytearray) else len(
                base64.b64decode(value)) if isinstance(value, str) else 0
            where = f"written to {saved}" if saved else "use -o FILE to save"
            lines.append(f"  {key}: <{size} bytes; {where}>")
        elif key == "ts" and isinstance(value, int):
            from gateway.events.render import iso_ms

            lines.append(f"  ts: {iso_ms(value)}")
        else:
            lines.append(f"  {key}: {json.dumps(_plain(value), ensure_ascii=False)}")
    lines = [visible(line) for line in lines]  # the device's strings, never terminal controls
    if one_line:
        return lines[0] + "".join(f";{line.removeprefix(' ')}" for line in lines[1:])
    return "\n".join(lines)


def reply_json(device: str, name: str, doc: Any) -> str:
    """One JSON line for a reply (bytes as base64), as ``--json`` prints it."""
    ok = isinstance(doc, dict) and doc.get("ok") is True
    return json.dumps({"device": device, "command": name, "ok": ok, "reply": _plain(doc)},
                      ensure_ascii=False)


def _binary(doc: dict[str, Any], field: str) -> bytes | None:
    value = doc.get(field)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):  # a gateway publishing JSON sends bytes as base64
        return base64.b64decode(value)
    return None


def _fetch_clip(client: CommandClient, args: argparse.Namespace, first: dict[str, Any],
                arguments: dict[str, Any]) -> tuple[bytes | None, str | None]:
    """All chunks of a ready clip, checked against its SHA-256; (data, error)."""
    chunks = first.get("chunks")
    parts = [_binary(first, "data") or b""]
    if not isinstance(chunks, int):
        return None, f"clip {first.get('id')} is {first.get('state')}, not ready"
    for index in range(1, chunks):
        got = client.request("clip", {**arguments, "chunk": index}, args.timeout)
        if got is None or not isinstance(got[0], dict) or not got[0].get("ok"):
            return None, f"chunk {index} of {chunks} did not arrive"
        parts.append(_binary(got[0], "data") or b"")
    data = b"".join(parts)
    if hashlib.sha256(data).hexdigest() != first.get("sha256"):
        return None, "the clip's SHA-256 does not match what the gateway announced; fetch again"
    return data, None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a half-written JPEG never appears under the name asked for


def _silence(client: CommandClient, args: argparse.Namespace) -> str:
    state = client.state
    if client.refused:
        return (f"the broker refused the command ({client.refused}): this identity may not "
                f"write {client.topics.base}/cmd/#; use an operator identity "
                "(edgepost provision subscriber NAME --operator)")
    if state is None:
        return (f"gateway {args.device} has never connected to this broker (no retained state "
                f"on {client.topics.state}); check the device id and --prefix")
    if not state.get("online"):
        from gateway.events.render import iso_ms

        since = iso_ms(state["ts"]) if isinstance(state.get("ts"), int) else "an unknown time"
        return f"gateway {args.device} is offline (since {since}); commands are not queued"
    return (f"gateway {args.device} is online but did not answer {args.command!r}; it may be "
            "busy (try a longer --timeout) or an older version without this command")


def cmd_cmd(args: argparse.Namespace) -> int:
    try:
        arguments = parse_arguments(args.args)
        client = CommandClient(args)
    except (OptionsError, ValueError) as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        status = client.connect(args.wait)
        if status:
            return status
        got = client.request(args.command, arguments, args.timeout)
        if got is None:
            print(f"edgepost: no reply to {args.command!r} within {args.timeout:g} s: "
                  f"{_silence(client, args)}", file=sys.stderr)
            return EXIT_CREDENTIALS if client.refused else EXIT_NO_REPLY
        doc, _fmt = got
        ok = isinstance(doc, dict) and doc.get("ok") is True
        saved = None
        spec = COMMANDS.get(args.command)
        if ok and args.out is not None and spec and spec.binary:
            if args.command == "clip":
                data, error = _fetch_clip(client, args, doc, arguments)
            else:
                data, error = _binary(doc, spec.binary), None
            if data is None:
                print(f"edgepost: nothing written to {args.out}: "
                      f"{error or 'the reply has no ' + spec.binary}", file=sys.stderr)
                return EXIT_REFUSED
            try:
                _write(args.out, data)
            except OSError as exc:
                print(f"edgepost: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
                return EXIT_USAGE
            saved = str(args.out)
        if args.json:
            print(json.dumps({"device": args.device, "command": args.command, "ok": ok,
                              "reply": _plain(doc), **({"saved": saved} if saved else {})},
                             ensure_ascii=False))
        elif ok:
            print(render_reply(args.device, args.command, doc, saved=saved))
        else:
            print(render_reply(args.device, args.command, doc), file=sys.stderr)
        return EXIT_OK if ok else EXIT_REFUSED
    finally:
        client.close()
