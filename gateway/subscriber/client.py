"""A subscriber for edgepost topics, usable as a library by central consumers.

It decodes events (CBOR or JSON, from the MQTT 5 content type), drops duplicates by event
id, reports sequence gaps per device, and passes state/health documents through. MQTT 5
shared subscriptions (``share``) let several consumers split the load.
"""

from __future__ import annotations

import logging
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
from gateway.ratelog import RateLimitedLog
from gateway.uplink.client import client_tls_context
from gateway.uplink.diagnose import Diagnosis, Endpoint, explain, explain_connack

log = logging.getLogger(__name__)
TOPIC_CACHE = 10_000  # topics remembered by _topic (devices x event types, with room)



def mqtt5_client(client_id: str, username: str | None = None, password: str | None = None, *,
                 manual_ack: bool = False) -> mqtt.Client:
    """A paho MQTT 5 client as every edgepost consumer (this subscriber, the centre's ingest) makes it.

    Reconnects back off from 0.2 s to 5 s: quick after a blip, gentle on a broker that is down.
    """
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    if username:
        client.username_pw_set(username, password)
    client.reconnect_delay_set(0.2, 5)
    return client


def on_subscribe_granted(subscribed: threading.Event,
                         filters: Callable[[], object]) -> Callable[..., None]:
    """A paho ``on_subscribe`` callback: sets ``subscribed`` when the broker granted every filter.

    A refusal (an ACL, a shared subscription the broker does not allow) is logged with the
    filters asked for, and ``subscribed`` stays clear so callers waiting on it see it.
    """

    def on_subscribe(client: mqtt.Client, userdata: object, mid: int,
                     reasons: list[mqtt.ReasonCode], properties: Properties | None) -> None:
        if any(r.is_failure for r in reasons):
            log.error("broker refused subscription(s) %s: %s", filters(), reasons)
            return
        subscribed.set()

    return on_subscribe


class _TransportErrors(logging.Handler):
    """Hands paho's error lines to the subscriber (the socket error names a failed attempt)."""

    def __init__(self, owner: EventSubscriber) -> None:
        super().__init__(logging.ERROR)
        self._owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        self._owner._on_log(record.levelno, record.getMessage())


@dataclass
class SubscriberOptions:
    """Where to connect and what to subscribe to."""

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "edgepost/v1"
    device: str = "+"
    include_status: bool = False  # also state and health (health is always read for gaps)
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
    kind: str  # event | state | health | gap | bad
    event: Event | None = None
    document: Any = None
    error: str | None = None
    gap: Gap | None = None  # kind "gap": numbers the device confirms will never arrive
    topic: str = ""


_NEW = object.__new__
# Received is frozen: its slot descriptors set the fields of the one kind a subscriber makes
# for nearly every message without the frozen __init__'s seven object.__setattr__ calls.
_R_DEVICE, _R_KIND, _R_EVENT, _R_DOCUMENT, _R_ERROR, _R_GAP, _R_TOPIC = (
    Received.__dict__[name].__set__
    for name in ("device", "kind", "event", "document", "error", "gap", "topic"))


def _received_event(device: str, event: Event, topic: str) -> Received:
    """``Received(device, "event", event=event, topic=topic)``, built faster."""
    received = _NEW(Received)
    _R_DEVICE(received, device)
    _R_KIND(received, "event")
    _R_EVENT(received, event)
    _R_DOCUMENT(received, None)
    _R_ERROR(received, None)
    _R_GAP(received, None)
    _R_TOPIC(received, topic)
    return received


class EventSubscriber:
    """Subscribes and calls ``on_message(Received)`` for every new (non-duplicate) message.

    Connection problems are named (see :mod:`gateway.uplink.diagnose`): the latest is in
    :attr:`problem` and, if given, passed to ``on_problem`` (on paho's network thread).
    """

    def __init__(self, opts: SubscriberOptions, on_message: Callable[[Received], None],
                 on_problem: Callable[[Diagnosis], None] | None = None) -> None:
        self.opts = opts
        self._on_message = on_message
        self._on_problem = on_problem
        self.dedup = Deduplicator(opts.dedup_capacity)
        self.seqs = SequenceTracker()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker granted the subscriptions
        self.problem: Diagnosis | None = None  # why the last attempt failed, if it did
        self.bad = 0
        self._lock = threading.Lock()
        self._ratelog = RateLimitedLog(log)
        self._transport_error: str | None = None  # paho's last socket error, for diagnosis
        self._explained = False  # the current attempt's failure has been named already
        self._stopping = False
        self._topics: dict[str, tuple[str, str]] = {}  # topic -> (device, kind), see _topic
        self._formats: dict[str, Format] = {}  # MQTT content type -> payload format
        self.endpoint = Endpoint.for_cli(opts.host, opts.port, ca_file=opts.ca_file,
                                         certfile=opts.certfile, keyfile=opts.keyfile,
                                         username=opts.username,
                                         has_password=opts.password is not None)
        cid = opts.client_id or f"edgepost-sub-{uuid.uuid4().hex[:8]}"
        self.client = mqtt5_client(cid, opts.username, opts.password)
        if opts.ca_file:
            self.client.tls_set_context(client_tls_context(opts.ca_file, opts.certfile,
                                                           opts.keyfile))
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_msg
        self.client.on_subscribe = on_subscribe_granted(self.subscribed, self.filters)
        # paho's errors only, through a logger of our own, and only while connecting (its
        # socket error names a failed attempt): with an on_log callback paho would format a
        # debug line for every packet, and even a quiet logger costs a call per packet.
        self._paho_log = logging.Logger(f"{__name__}.paho", logging.ERROR)
        self._paho_log.propagate = False
        self._paho_log.addHandler(_TransportErrors(self))
        self.client.enable_logger(self._paho_log)

    def filters(self) -> list[str]:
        """The subscription filters this subscriber uses."""
        o = self.opts
        found = list(o.topics) or [subscription(o.prefix, o.device, "event"),
                                   subscription(o.prefix, o.device, "health")]
        if o.include_status and not o.topics:
            found.append(subscription(o.prefix, o.device, "state"))
        return [f"$share/{o.share}/{f}" if o.share else f for f in found]

    def start(self) -> None:
        """Connect (retrying in the background) and start the network thread."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.opts.session_expiry_s
        self.client.connect_async(self.opts.host, self.opts.port, keepalive=30,
                                  clean_start=self.opts.session_expiry_s == 0, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def _report(self, problem: Diagnosis) -> None:
        self.problem = problem
        if self._on_problem is not None:
            self._on_problem(problem)  # the caller tells its user; no second line in the log
        else:
            self._ratelog.log(logging.ERROR, problem.cause, "broker %s %s", self.endpoint.where,
                              problem.message)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            self._explained = True
            self._report(explain_connack(reason, self.endpoint))
            return
        self.problem = None
        self._transport_error = None
        client.subscribe([(f, 1) for f in self.filters()])
        self.connected.set()
        client.disable_logger()  # connected: nothing left to diagnose until a disconnect

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho keeps the exception to itself: reproduce the attempt's steps to name it.
        if not self._stopping:
            self._report(explain(self.endpoint, None))

    def _on_log(self, level: int, buf: str) -> None:
        if level >= logging.ERROR and buf.startswith("failed to receive on socket: "):
            self._transport_error = buf.removeprefix("failed to receive on socket: ")

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: Any,
                       reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        self.subscribed.clear()
        client.enable_logger(self._paho_log)  # the next attempt may need naming
        if not was_connected and not self._explained and not self._stopping:
            # Closed before CONNACK (a TLS listener refusing the certificate, a plain
            # client on a TLS port...): name it.
            self._report(explain(self.endpoint, self._transport_error))
        self._explained = False
        self._transport_error = None

    def _on_msg(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        received = self.classify(msg.topic, msg.payload, getattr(msg, "properties", None))
        if received is None:
            return
        if received.kind == "health":
            for gap in self._settle(received):
                self._on_message(Received(received.device, "gap", gap=gap, topic=msg.topic))
            if not self.opts.include_status:
                return
        self._on_message(received)

    def _settle(self, health: Received) -> list[Gap]:
        """Open gaps below what the device says is still waiting are losses now."""
        doc = health.document
        spool = doc.get("spool") if isinstance(doc, dict) else None
        if not isinstance(spool, dict) or "oldest_seq" not in spool:
            return []  # an older gateway: it does not say, so nothing is concluded
        oldest = spool["oldest_seq"]
        if oldest is not None and (isinstance(oldest, bool) or not isinstance(oldest, int)):
            return []
        with self._lock:
            return self.seqs.settle(health.device, oldest)

    def _topic(self, topic: str) -> tuple[str, str]:
        """(device, kind) of a topic, cached: a site has few devices and event types, and
        parsing each topic again was a tenth of the work per message."""
        found = self._topics.get(topic)
        if found is None:
            parsed = parse_topic(topic, self.opts.prefix)
            found = (parsed.device, parsed.kind) if parsed else ("?", "?")
            if len(self._topics) >= TOPIC_CACHE:
                self._topics.clear()  # a flood of odd topics must not grow it without bound
            self._topics[topic] = found
        return found

    def classify(self, topic: str, payload: bytes, props: Properties | None = None
                 ) -> Received | None:
        """Decode one message; None for a duplicate event."""
        found = self._topics.get(topic)
        device, kind = found if found is not None else self._topic(topic)
        ctype = getattr(props, "ContentType", None)  # (None for props None)
        fmt = self._formats.get(ctype) if ctype else None  # the usual content types, cached
        if fmt is None:
            fmt = Format.from_content_type(ctype, payload) if payload else Format.CBOR
            if ctype and len(self._formats) < 16:
                self._formats[ctype] = fmt
        try:
            if kind == "event":
                event = decode(payload, fmt)
                with self._lock:
                    if self.dedup.seen(event.id):
                        return None
                    self.seqs.observe(device, event.seq)
                return _received_event(device, event, topic)
            return Received(device, kind, document=load_document(payload, fmt), topic=topic)
        except EventDecodeError as exc:
            self.bad += 1
            return Received(device, "bad", error=str(exc), topic=topic)
