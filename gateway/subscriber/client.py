"""A subscriber for edgepost topics, usable as a library by central consumers.

It decodes events (CBOR or JSON, from the MQTT 5 content type), drops duplicates by event
id, reports sequence gaps per device, and passes state/health documents through. MQTT 5
shared subscriptions (``share``) let several consumers split the load.
"""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events import (
    Deduplicator,
    Event,
    EventDecodeError,
    Format,
    Gap,
    SequenceTracker,
    decode,
    load_document,
    parse_topic,
    subscription,
)

log = logging.getLogger(__name__)


@dataclass
class SubscriberOptions:
    """Where to connect and what to subscribe to."""

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "edgepost/v1"
    device: str = "+"
    include_status: bool = False  # also state and health
    share: str | None = None  # MQTT 5 shared-subscription group
    client_id: str | None = None
    session_expiry_s: int = 0  # > 0 keeps the session (and queued events) while offline
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    dedup_capacity: int = 100_000
    topics: list[str] = field(default_factory=list)  # override the computed filters


@dataclass(frozen=True, slots=True)
class Received:
    """One delivered message: an event, or a state/health document, or an undecodable one."""

    device: str
    kind: str  # event | state | health | bad
    event: Event | None = None
    document: Any = None
    error: str | None = None
    gap: Gap | None = None
    topic: str = ""


class EventSubscriber:
    """Subscribes and calls ``on_message(Received)`` for every new (non-duplicate) message."""

    def __init__(self, opts: SubscriberOptions, on_message: Callable[[Received], None]) -> None:
        self.opts = opts
        self._on_message = on_message
        self.dedup = Deduplicator(opts.dedup_capacity)
        self.seqs = SequenceTracker()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker granted the subscriptions
        self.bad = 0
        self._lock = threading.Lock()
        cid = opts.client_id or f"edgepost-sub-{uuid.uuid4().hex[:8]}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid,
                                  protocol=mqtt.MQTTv5)
        if opts.username:
            self.client.username_pw_set(opts.username, opts.password)
        if opts.ca_file:
            ctx = ssl.create_default_context(cafile=str(opts.ca_file))
            if opts.certfile:
                ctx.load_cert_chain(str(opts.certfile), str(opts.keyfile) if opts.keyfile else None)
            self.client.tls_set_context(ctx)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_msg
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(0.2, 5)

    def filters(self) -> list[str]:
        """The subscription filters this subscriber uses."""
        o = self.opts
        found = list(o.topics) or [subscription(o.prefix, o.device, "event")]
        if o.include_status and not o.topics:
            found += [subscription(o.prefix, o.device, "state"),
                      subscription(o.prefix, o.device, "health")]
        return [f"$share/{o.share}/{f}" if o.share else f for f in found]

    def start(self) -> None:
        """Connect (retrying in the background) and start the network thread."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.opts.session_expiry_s
        self.client.connect_async(self.opts.host, self.opts.port, keepalive=30,
                                  clean_start=self.opts.session_expiry_s == 0, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            log.error("broker refused the subscriber: %s", reason)
            return
        client.subscribe([(f, 1) for f in self.filters()])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reasons: list[mqtt.ReasonCode], properties: Properties | None) -> None:
        if any(r.is_failure for r in reasons):
            log.error("broker refused subscription(s) %s: %s", self.filters(), reasons)
            return
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: Any,
                       reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        self.connected.clear()
        self.subscribed.clear()

    def _on_msg(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        received = self.classify(msg.topic, msg.payload, getattr(msg, "properties", None))
        if received is not None:
            self._on_message(received)

    def classify(self, topic: str, payload: bytes, props: Properties | None = None
                 ) -> Received | None:
        """Decode one message; None for a duplicate event."""
        parsed = parse_topic(topic, self.opts.prefix)
        device = parsed.device if parsed else "?"
        kind = parsed.kind if parsed else "?"
        ctype = getattr(props, "ContentType", None) if props is not None else None
        fmt = Format.from_content_type(ctype, payload) if payload else Format.CBOR
        try:
            if kind == "event":
                event = decode(payload, fmt)
                with self._lock:
                    if self.dedup.seen(event.id):
                        return None
                    gap = self.seqs.observe(device, event.seq)
                return Received(device, "event", event=event, gap=gap, topic=topic)
            return Received(device, kind, document=load_document(payload, fmt), topic=topic)
        except EventDecodeError as exc:
            self.bad += 1
            return Received(device, "bad", error=str(exc), topic=topic)
