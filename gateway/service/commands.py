"""Remote commands on ``<prefix>/<device>/cmd/<name>``; replies on ``.../reply/<name>``.

Handlers run on a worker thread so a slow one (a snapshot) never stalls the uplink. A
reply echoes the request's MQTT 5 correlation data. Replies go to the device's own reply
topic, because the broker ACL lets a device write only under its own prefix.

At most :data:`MAX_WAITING` commands wait for the worker: more are dropped (no reply), counted
and logged, so a command flood (a runaway script, a stolen operator certificate) cannot grow a
Pi's memory until the cameras die with it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from paho.mqtt.properties import Properties

from gateway.events.codec import Format, dump_document, load_document
from gateway.events.envelope import now_ms
from gateway.events.errors import EventDecodeError
from gateway.events.topics import Topics
from gateway.ratelog import RateLimitedLog

log = logging.getLogger(__name__)
MAX_WAITING = 32  # commands queued behind the one running; far more than an operator sends

Handler = Callable[[dict[str, Any]], dict[str, Any]]
Send = Callable[..., None]


class CommandRouter:
    """Maps command names to handlers and sends their replies through ``send``."""

    def __init__(self, topics: Topics, fmt: Format, send: Send) -> None:
        self._topics = topics
        self._fmt = fmt
        self._send = send
        self._handlers: dict[str, Handler] = {}
        # One worker thread and a queue, not concurrent.futures: that package costs ~0.7 MB of
        # a Pi's RSS for what a queue does here (issue 16).
        self._queue: queue.Queue[tuple[str, bytes, bytes | None] | None] = queue.Queue(MAX_WAITING)
        self.dropped = 0  # commands refused because MAX_WAITING were waiting
        self._ratelog = RateLimitedLog(log)
        self._worker = threading.Thread(target=self._work, name="cmd", daemon=True)
        self._worker.start()
        self.register("ping", lambda args: {"pong": True})

    def register(self, name: str, handler: Handler) -> None:
        """Handle ``cmd/<name>``: ``handler(args) -> reply document``."""
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def dispatch(self, name: str, payload: bytes, props: Properties | None) -> None:
        """Called by the uplink for each command message."""
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        try:
            self._queue.put_nowait((name, payload, correlation))
        except queue.Full:
            self.dropped += 1
            self._ratelog.log(logging.WARNING, "full", "command %s dropped: %d commands are "
                              "waiting already (%d dropped so far); who sends this many?",
                              name, MAX_WAITING, self.dropped)

    def health(self) -> dict[str, int]:
        """Commands waiting, and dropped because too many were."""
        return {"waiting": self._queue.qsize(), "dropped": self.dropped}

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._run(*item)

    def _run(self, name: str, payload: bytes, correlation: bytes | None) -> None:
        handler = self._handlers.get(name)
        reply: dict[str, Any]
        if handler is None:
            reply = {"ok": False, "error": f"unknown command {name!r}; known: {self.names}"}
        else:
            try:
                args = _arguments(payload)
                reply = {"ok": True, **handler(args)}
            except (EventDecodeError, ValueError) as exc:
                reply = {"ok": False, "error": str(exc)}
            except Exception as exc:  # any handler bug becomes an error reply, not a dead worker
                log.exception("command %s failed", name)
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        reply["ts"] = now_ms()
        self._send(self._topics.reply(name), dump_document(reply, self._fmt), qos=1,
                   correlation=correlation)

    def close(self) -> None:
        # Commands not started yet are dropped (their senders get no reply, as on a restart);
        # the worker stops after the one it is running, if any.
        while True:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                self._queue.put_nowait(None)  # never blocks: commands may still be arriving
                return
            except queue.Full:
                continue


def _arguments(payload: bytes) -> dict[str, Any]:
    """Command arguments: empty, or a CBOR/JSON map."""
    if not payload:
        return {}
    fmt = Format.JSON if payload[:1] == b"{" else Format.CBOR
    doc = load_document(payload, fmt)
    if not isinstance(doc, dict):
        raise ValueError("command arguments must be a map")
    return doc
