"""The uplink: one thread that owns the MQTT connection and drains the spool in order.

Why one thread: paho's callbacks, the in-flight window and the spool cursor then live in a
single place, with no locks between the network loop and the feeder. Producers only write
to the spool and call :meth:`Uplink.wake`.

Delivery rule: an event is sent at QoS 1 and deleted from the spool only when its PUBACK
arrives. After any disconnect the in-flight set is forgotten and sending restarts from the
oldest event still in the spool, so nothing unacknowledged is lost (at-least-once;
subscribers de-duplicate by event id).

Send order: by priority lane, highest first (alarms, then passages and objects, then
readings), and in sequence order within a lane. An alarm produced during a backlog goes out
next, ahead of the stored readings; subscribers see sequence numbers out of order across
lanes (a gap is a number not yet seen, see gateway.events.dedup).

Refusals: a PUBACK with a failure reason never deletes an event that a fixed broker could
still take. "Not authorized" (135: an ACL not yet updated), quota and unspecified errors
pause sending with backoff, raise one fault, and resend from the oldest event. Only reasons
that resending can never cure (topic name invalid, packet too large, payload format invalid)
remove the event, counted as ``rejected``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

from gateway.config.mqtt import MqttConfig
from gateway.events.topics import Topics
from gateway.ratelog import RateLimitedLog
from gateway.uplink.backoff import Backoff
from gateway.uplink.client import make_client, publish_properties, set_nodelay
from gateway.uplink.spool import Spool, SpoolEntry

log = logging.getLogger(__name__)

CommandHandler = Callable[[str, bytes, "Properties | None"], None]
FaultHandler = Callable[[str, str], None]  # (code, message) -> a device_fault event
# PUBACK reasons no resend can cure: the event itself is wrong for this broker.
PERMANENT_REFUSALS = frozenset({144, 149, 153})  # topic invalid, too large, bad payload format
# The idle wait ends at once on wake() (the wake-up socket is in the same select), so this
# only bounds how late time-driven work runs while nothing happens: keep-alive pings, the
# CONNACK deadline, the end of a refusal pause, deferred spool deletes.
IDLE_POLL_S = 0.25
REMOVE_BATCH = 1000
PREFETCH = 256
REMOVE_MAX_DELAY_S = 0.05


@dataclass
class UplinkStats:
    """Counters of the connection for health reports."""

    connected: bool = False
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    published: int = 0
    acked: int = 0
    rejected: int = 0
    refused: int = 0  # refusals that keep the event (e.g. not authorized) and retry later
    in_flight: int = 0
    commands_ready: bool = False  # the broker granted the cmd/+ subscription
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Direct:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    content_type: str
    correlation: bytes | None


class Uplink:
    """Publishes spooled events, the retained state (birth + LWT), and direct messages."""

    def __init__(self, cfg: MqttConfig, topics: Topics, spool: Spool, *,
                 state_payload: Callable[[bool], bytes], content_type: str,
                 on_command: CommandHandler | None = None,
                 on_fault: FaultHandler | None = None) -> None:
        self.cfg = cfg
        self.topics = topics
        self.spool = spool
        self.stats = UplinkStats()
        self.heartbeat = time.monotonic()  # the watchdog checks that this keeps moving
        self._state_payload = state_payload
        self._content_type = content_type
        self._on_command = on_command
        self._on_fault = on_fault
        self._backoff = Backoff(cfg.reconnect_min_s, cfg.reconnect_max_s)
        # Refusals back off on their own: a reconnect does not cure an ACL.
        self._refusal_backoff = Backoff(cfg.reconnect_min_s, cfg.reconnect_max_s)
        self._refusing: str | None = None  # the refusal being backed off from, if any
        self._paused_until = 0.0
        self._ratelog = RateLimitedLog(log)
        self._props: dict[str, Properties] = {}
        self._direct: queue.SimpleQueue[_Direct] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._wake_gen = 0
        # Wake-up socket pair: its read end sits in the select() of the idle wait, so an
        # event produced while the link is idle goes out at once rather than at the next
        # poll. Written only while the uplink thread is idle-waiting (``_idle``), so a busy
        # uplink costs producers no system call. A socket pair rather than os.pipe(): a
        # closed socket object refuses send(), a closed fd number may already be reused.
        self._wake_rx, self._wake_tx = socket.socketpair()
        self._wake_rx.setblocking(False)
        self._wake_tx.setblocking(False)
        self._idle = False
        self._thread: threading.Thread | None = None
        # Owned by the uplink thread only:
        self._client: mqtt.Client | None = None
        self._connected = False
        self._probing = False  # a new connection: one event in flight until it is answered
        self._lost: str | None = None
        self._connack_deadline = 0.0
        self._next_attempt = 0.0
        self._inflight: dict[int, int] = {}  # mid -> seq
        self._acks: list[tuple[int, mqtt.ReasonCode]] = []
        self._cursors: dict[int, int] = {}  # priority lane -> last seq sent in that lane
        self._ahead: collections.deque[SpoolEntry] = collections.deque()
        self._ahead_generation = 0
        self._caught_up_gen = -1
        self._to_remove: list[int] = []
        self._to_reject: list[int] = []
        self._remove_since = 0.0

    # --- public, any thread --------------------------------------------------------
    def start(self) -> None:
        """Start the uplink thread; it connects (and reconnects) on its own."""
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish the offline state, disconnect cleanly and stop the thread."""
        self._stop.set()
        self._kick()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return  # still using the wake-up sockets: leave them open
        self._wake_rx.close()
        self._wake_tx.close()

    def wake(self) -> None:
        """Tell the uplink that new events are in the spool."""
        self._wake_gen += 1
        self._kick()

    def _kick(self) -> None:
        """End the uplink thread's current wait, with a system call only if it is waiting."""
        self._wake.set()
        if self._idle:
            # One byte per idle period is enough; the uplink drains it after select().
            self._idle = False
            with contextlib.suppress(OSError):  # buffer full (already woken) or stopped
                self._wake_tx.send(b"\0")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def send_direct(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False,
                    content_type: str | None = None, correlation: bytes | None = None) -> None:
        """Publish outside the spool (health, command replies); dropped while offline."""
        self._direct.put(_Direct(topic, payload, qos, retain, content_type or self._content_type,
                                 correlation))
        self._kick()

    # --- the uplink thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.heartbeat = time.monotonic()
                if self._client is None:
                    wait = self._next_attempt - time.monotonic()
                    if wait > 0:
                        self._wake.wait(min(wait, 0.5))
                        self._wake.clear()
                        continue
                    self._connect()
                    continue
                self._step()
        except Exception:  # a bug here must not silently stop delivery: log, let systemd restart
            log.exception("uplink thread crashed")
            raise
        finally:
            self._shutdown()

    def _step(self) -> None:
        client = self._client
        assert client is not None
        # Announce the idle wait before deciding on it: a wake() after this line either
        # changes _wake_gen in time to make us busy, or finds _idle set and writes the
        # wake-up socket, which ends the select() at once. No wake-up can fall in between.
        self._idle = True
        now = time.monotonic()
        busy = (self._connected and len(self._inflight) < self._window()
                and (bool(self._ahead) or self._caught_up_gen != self._wake_gen)
                and now >= self._paused_until)
        if busy or not self._direct.empty():
            self._idle = False
            timeout = 0.0
        else:
            timeout = self._idle_timeout(now)
        rc = _pump(client, timeout, self._wake_rx)
        self._idle = False
        if rc != mqtt.MQTT_ERR_SUCCESS and self._lost is None:
            self._lost = mqtt.error_string(rc)
        if self._lost is not None:
            self._drop_connection(self._lost)
            return
        if not self._connected:
            if time.monotonic() > self._connack_deadline:
                self._drop_connection("no CONNACK from the broker in time")
            return
        self._process_acks()
        self._send_direct_queue()
        self._feed()
        self._flush_removals(force=False)
        self._wake.clear()

    def _window(self) -> int:
        """Events allowed in flight now: one until the connection's first answer."""
        return 1 if self._probing else self.cfg.window

    def _idle_timeout(self, now: float) -> float:
        """How long the idle wait may last: until the next time-driven piece of work."""
        timeout = IDLE_POLL_S
        if self._paused_until > now:
            timeout = min(timeout, self._paused_until - now)
        if self._remove_since:
            timeout = min(timeout, max(0.0, self._remove_since + REMOVE_MAX_DELAY_S - now))
        if not self._connected:
            timeout = min(timeout, max(0.0, self._connack_deadline - now))
        return timeout

    def _connect(self) -> None:
        cfg = self.cfg
        state = (self.topics.state, self._state_payload(False), self._content_type)
        try:
            client = make_client(cfg, self.topics.device, will=state)
            client.max_inflight_messages_set(cfg.window + 16)  # room for state/health/replies
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_publish = self._on_publish
            client.on_message = self._on_message
            client.on_subscribe = self._on_subscribe
            client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s, clean_start=True)
            set_nodelay(client)
        except Exception as exc:  # OSError, ssl.SSLError, socket.gaierror, ValueError...
            self._connect_failed(f"{type(exc).__name__}: {exc}")
            return
        self._client = client
        self._lost = None
        self._connack_deadline = time.monotonic() + cfg.connect_timeout_s

    def _connect_failed(self, why: str) -> None:
        from gateway.uplink.diagnose import Endpoint, explain

        # Name the cause and its fix (revoked certificate, TLS/plain port mismatch, nothing
        # listening...); a refusal from _on_connect is already explained.
        refusal = why.startswith("broker refused the connection")
        cause = (why.removeprefix("broker ") if refusal else
                 explain(Endpoint.from_mqtt(self.cfg, self.topics.device), why).message)
        self.stats.connect_failures += 1
        self.stats.last_error = cause
        delay = self._backoff.next_delay()
        self._next_attempt = time.monotonic() + delay
        self._ratelog.log(
            logging.WARNING, "connect",
            "broker %s:%d %s; events stay in the spool (%d waiting); "
            "retrying with backoff (next in %.1f s)",
            self.cfg.host, self.cfg.port, cause, self.spool.stats().depth, delay)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            from gateway.uplink.diagnose import Endpoint, explain_connack

            ep = Endpoint.from_mqtt(self.cfg, self.topics.device)
            self._lost = "broker " + explain_connack(reason, ep).message
            return
        self._connected = True
        # The first event on a new connection goes alone (see _feed); the reconnect backoff
        # is reset once the broker has accepted an event, or now if nothing is waiting.
        self._probing = True
        waiting = self.spool.stats().depth
        if not waiting:
            self._backoff.reset()
        self._ratelog.reset("connect")
        self.stats.connected = True
        self.stats.connects += 1
        self._inflight.clear()
        self._cursors = {}  # replay everything still in the spool, each lane oldest first
        self._ahead.clear()
        self._caught_up_gen = -1
        client.publish(self.topics.state, self._state_payload(True), qos=1, retain=True,
                       properties=self._properties(self._content_type))
        client.subscribe(self.topics.cmd_filter, qos=1)
        log.info("connected to broker %s:%d; %d event(s) waiting in the spool",
                 self.cfg.host, self.cfg.port, waiting)

    def _credentials_hint(self) -> str:
        """What a technician should check when the broker refuses this gateway."""
        checks = []
        if self.cfg.username is not None:
            checks.append("mqtt.username and mqtt.password")
        if self.cfg.tls is not None and self.cfg.tls.certfile is not None:
            checks.append(f"the client certificate (CN must be {self.topics.device!r})")
        if not checks:
            checks.append("whether the broker requires a username or a client certificate")
        return " - check " + " and ".join(checks) + ", and the broker's ACL"

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reasons: list[mqtt.ReasonCode], properties: Properties | None) -> None:
        ok = bool(reasons) and not any(r.is_failure for r in reasons)
        self.stats.commands_ready = ok
        if not ok:
            log.error("broker refused the command subscription %s: %s - check the ACL",
                      self.topics.cmd_filter, reasons)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if self._lost is None:
            self._lost = f"disconnected: {reason}"

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        self._acks.append((mid, reason))

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        name = msg.topic.rsplit("/", 1)[-1]
        if self._on_command is not None:
            try:
                self._on_command(name, msg.payload, getattr(msg, "properties", None))
            except Exception:  # a broken command handler must not stop the uplink thread
                log.exception("command %r failed", name)

    def _drop_connection(self, why: str) -> None:
        was_connected = self._connected
        self._process_acks()
        self._flush_removals(force=True)
        if self._client is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                self._client.disconnect()
        self._client = None
        self._connected = False
        self._lost = None
        self._inflight.clear()
        self.spool.release_wire()  # nothing is on the wire any more
        self.stats.connected = False
        self.stats.commands_ready = False
        self.stats.in_flight = 0
        self.stats.last_error = why
        if was_connected:
            self.stats.disconnects += 1
            delay = self._backoff.next_delay()
            self._next_attempt = time.monotonic() + delay
            log.warning("connection to broker lost (%s); spooling, reconnecting in %.1f s",
                        why, delay)
        else:
            self._connect_failed(why)

    def _process_acks(self) -> None:
        if not self._acks:
            return
        acks, self._acks = self._acks, []
        newly_acked = len(self._to_remove)
        refused: tuple[int, mqtt.ReasonCode] | None = None
        for mid, reason in acks:
            seq = self._inflight.pop(mid, None)
            if seq is None:
                continue  # state, health or a reply
            if reason.is_failure and reason.value in PERMANENT_REFUSALS:
                # Resending can never cure this one: remove it, counted as rejected.
                self._to_reject.append(seq)
                self.stats.rejected += 1
                self._ratelog.log(logging.ERROR, f"reject-{reason}",
                                  "broker refused event #%d for good: %s (removed, counted "
                                  "in spool.rejected)", seq, reason)
            elif reason.is_failure:
                self.stats.refused += 1
                refused = refused or (seq, reason)
            else:
                self._to_remove.append(seq)
                self.stats.acked += 1
                if self._probing:
                    self._backoff.reset()  # this connection works: a later loss starts afresh
                if self._refusing is not None:
                    self._refusal_cleared()
            if not self._remove_since:
                self._remove_since = time.monotonic()
            self._probing = False  # any answer to an event opens the window
        if len(self._to_remove) > newly_acked:
            # Tell the spool at once, so overflow frees these before dropping anything.
            self.spool.note_acked(self._to_remove[newly_acked:])
        self.stats.in_flight = len(self._inflight)
        if refused is not None:
            self._pause_for_refusal(*refused)

    def _pause_for_refusal(self, seq: int, reason: mqtt.ReasonCode) -> None:
        """Keep the refused event, stop sending for a backoff delay, then resend from the
        oldest event still in the spool (a fixed ACL then lets them all through)."""
        delay = self._refusal_backoff.next_delay()
        self._paused_until = time.monotonic() + delay
        self._cursors = {}
        self._ahead.clear()
        self._caught_up_gen = -1
        why = (f"broker refused event #{seq}: {reason} - the broker's ACL does not (yet) let "
               f"{self.topics.device!r} publish under {self.topics.base}/#; events stay in the "
               "spool and are sent again once it does (re-run `edgepost provision gateway` or "
               "reload the broker)")
        self.stats.last_error = why
        self._ratelog.log(logging.ERROR, "refused", "%s; retrying in %.1f s", why, delay)
        if self._refusing is None:
            self._refusing = str(reason)
            if self._on_fault is not None:
                code = "not_authorized" if reason.value == 135 else "refused"
                self._on_fault(code, why)

    def _refusal_cleared(self) -> None:
        log.warning("broker accepts events again after refusing them (%s)", self._refusing)
        self._refusing = None
        self._refusal_backoff.reset()
        self._ratelog.reset("refused")

    def _flush_removals(self, force: bool) -> None:
        pending = len(self._to_remove) + len(self._to_reject)
        if not pending:
            return
        # Batching deletes keeps the drain fast; a crash before the flush only means those
        # events are sent again, which subscribers de-duplicate.
        if (force or pending >= REMOVE_BATCH
                or time.monotonic() - self._remove_since >= REMOVE_MAX_DELAY_S):
            # The acked ones were handed over by note_acked() in _process_acks already;
            # naming them again would count them twice if the service's maintain() has
            # deleted them in between (the spool counts an ack it no longer holds as new).
            self.spool.remove(rejected=self._to_reject)
            self._to_remove, self._to_reject = [], []
            self._remove_since = 0.0

    def _feed(self) -> None:
        # Right after a (re)connect one event goes alone until the broker answers it: a
        # broker that refuses it (an ACL not yet updated) and then drops the connection
        # would otherwise cut the window's later writes short, and the refusal in its
        # PUBACK would be lost with the socket. Costs one round trip per connection.
        room = self._window() - len(self._inflight)
        if room <= 0 or (self._paused_until and time.monotonic() < self._paused_until):
            return
        if self._ahead and self.spool.take_urgent() > self._ahead[0].priority:
            # Something more urgent than the read-ahead arrived: it goes out next.
            self._ahead.clear()
            self._caught_up_gen = -1
        if not self._ahead:
            # Read ahead in batches: one query per PREFETCH events instead of one per slot.
            gen = self._wake_gen
            if self._caught_up_gen == gen:
                return
            self._ahead_generation = self.spool.drop_generation
            self._ahead = collections.deque(self.spool.read_lanes(self._cursors, PREFETCH))
            if len(self._ahead) < PREFETCH:
                self._caught_up_gen = gen
        batch = [self._ahead.popleft() for _ in range(min(room, len(self._ahead)))]
        if not batch:
            return
        if not self.spool.claim([e.seq for e in batch], self._ahead_generation):
            # Overflow dropped events since the read-ahead: those copies must not be sent
            # (health already counts them as dropped). Read again from the spool.
            self._ahead.clear()
            self._caught_up_gen = -1
            return
        client = self._client
        assert client is not None
        for entry in batch:
            info = client.publish(entry.topic, entry.payload, qos=1,
                                  properties=self._properties(entry.content_type))
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self._lost = f"publish failed: {mqtt.error_string(info.rc)}"
                return
            self._inflight[info.mid] = entry.seq
            self._cursors[entry.priority] = entry.seq
            self.stats.published += 1
        self.stats.in_flight = len(self._inflight)

    def _send_direct_queue(self) -> None:
        client = self._client
        assert client is not None
        while True:
            try:
                msg = self._direct.get_nowait()
            except queue.Empty:
                return
            props = self._properties(msg.content_type)
            if msg.correlation is not None:
                props = publish_properties(msg.content_type)
                props.CorrelationData = msg.correlation
            client.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain,
                           properties=props)

    def _properties(self, content_type: str) -> Properties:
        props = self._props.get(content_type)
        if props is None:
            props = self._props[content_type] = publish_properties(content_type)
        return props

    def _shutdown(self) -> None:
        client = self._client
        if client is not None and self._connected:
            # A clean stop does not fire the LWT, so say "offline" ourselves.
            info = client.publish(self.topics.state, self._state_payload(False), qos=1,
                                  retain=True, properties=self._properties(self._content_type))
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                if _pump(client, 0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
            self._process_acks()
            try:
                client.disconnect()
                _pump(client, 0.1)
            except Exception:  # shutting down: the socket may be gone in any of paho's ways
                pass
        self._flush_removals(force=True)
        self._client = None
        self._connected = False
        self.stats.connected = False



def _pump(client: mqtt.Client, timeout: float,
          wake: socket.socket | None = None) -> mqtt.MQTTErrorCode:
    """One turn of paho's network loop, driven through its external-loop API.

    Why not ``client.loop()``: that creates a wake-up socket pair and writes a byte to it on
    every publish, three extra system calls per event; with one thread there is nobody to
    wake, and publish() already writes straight to the socket. Our own wake-up socket
    (``wake``) is written only when the uplink is idle, see :meth:`Uplink._kick`.
    """
    sock = client.socket()
    if sock is None:
        return mqtt.MQTT_ERR_NO_CONN
    pending = sock.pending() if hasattr(sock, "pending") else 0  # TLS-buffered bytes
    watch = [sock] if wake is None else [sock, wake]
    try:
        readable, writable, _ = select.select(
            watch, [sock] if client.want_write() else [], [], 0.0 if pending else timeout)
    except (OSError, ValueError, TypeError):
        return mqtt.MQTT_ERR_CONN_LOST
    if wake is not None and wake in readable:
        with contextlib.suppress(OSError):  # nothing left to read
            wake.recv(4096)
        readable.remove(wake)
    if readable or pending:
        rc = client.loop_read()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    if writable:
        rc = client.loop_write()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    return client.loop_misc()
