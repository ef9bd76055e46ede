"""The ingest service: MQTT 5 shared subscription in, archive out, acknowledge after the commit.

Why manual acknowledgements and a persistent session: an event counts as received only when
it is in the database. paho's ``manual_ack`` holds the PUBACK until :meth:`Store.write`
has committed the batch the event is in; the session (``clean_start=False`` with a session
expiry) keeps everything not yet acknowledged at the broker, so an instance killed with
events in flight gets them again when it comes back, and the archive's unique key drops the
copies. ``Receive Maximum`` bounds how many unacknowledged events the broker sends, so when
the database is down the service stops acknowledging, holds at most that many in memory and
the rest waits in the broker's session queue (bounded backpressure, reported in health).

Contract: every QoS 1 message is acknowledged only after the transaction holding it (as an
event, a status document or a quarantine record) committed. Bad input is quarantined and
acknowledged, never retried, never allowed to stop the queue. State and health documents
use plain subscriptions (every instance keeps the fleet picture; the upsert is idempotent);
events use the shared one.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.config import CentralConfig
from central.decode import EventRow, Limits, Quarantined, Reply, StatusDoc, classify
from central.grid import Grid, load_grid
from central.quarantine_budget import QuarantineBudget
from central.store import Batch, Store, WriteResult
from gateway.ratelog import RateLimitedLog
from gateway.subscriber.client import mqtt5_client, on_subscribe_granted
from gateway.uplink.diagnose import Endpoint, closed_before_connack, explain_connack, probe

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.2  # the writer wakes this often with nothing to do (stop requests, health)
KEEPALIVE_S = 30  # the broker notices a killed instance within 1.5x this


@dataclass(slots=True)
class Inbound:
    """One received message waiting for its transaction."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    content_type: str | None
    rx_ms: int
    generation: int  # connection it came on: a PUBACK is only valid on that connection
    correlation: bytes | None = None  # MQTT 5 correlation data (command replies)


class IngestService:
    """Subscribes, classifies, stores in batches and acknowledges after each commit."""

    def __init__(self, cfg: CentralConfig, store: Store,
                 on_batch: Callable[[Batch], None] | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self._on_batch = on_batch
        # Grid cells are read once at start: a broken file stops the start with GridFileError.
        self.grid: Grid | None = (load_grid(cfg.grid.cells_file, cfg.grid.id_property)
                                  if cfg.grid.cells_file is not None else None)
        b = cfg.broker
        self.limits = Limits(
            max_payload_bytes=cfg.ingest.max_payload_bytes,
            future_tolerance_ms=cfg.ingest.future_tolerance_s * 1000,
            min_event_ms=int(dt.datetime(cfg.ingest.min_event_year, 1, 1, tzinfo=dt.UTC).timestamp() * 1000))
        self.client = mqtt5_client(b.client_id, b.username, b.password, manual_ack=True)
        if b.ca_file:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(b.ca_file))
            if b.certfile is not None:
                ctx.load_cert_chain(str(b.certfile), str(b.keyfile) if b.keyfile else None)
            self.client.tls_set_context(ctx)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        # how the configuration names what a failed connection's fix must change
        self.endpoint = Endpoint(
            b.host, b.port, tls=b.ca_file is not None, ca_file=b.ca_file, certfile=b.certfile,
            keyfile=b.keyfile, username=b.username, has_password=b.password is not None,
            opt_port="[broker] port (--broker HOST:PORT)", opt_tls="[broker] ca_file = the site CA",
            opt_ca="[broker] ca_file", opt_cert="[broker] certfile and keyfile",
            opt_creds="[broker] username and password", opt_no_tls="remove [broker] ca_file")
        self.broker_failures = 0  # connection attempts that failed (health)
        self.broker_error: str | None = None  # why the last one failed, with the fix
        self.client.on_message = self._on_message
        self._cond = threading.Condition()
        self._inbox: deque[Inbound] = deque()
        self._health_docs: dict[str, Inbound] = {}  # latest health per topic (QoS 0, coalesced)
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client.on_subscribe = on_subscribe_granted(self.subscribed, self.filters)
        self._ratelog = RateLimitedLog(log, 30.0)  # an outage is re-announced every 30 s
        # health figures
        self.stored = 0
        self.nodes_not_listed = 0  # new nodes left out of the fleet list (max_nodes_per_device)
        self.duplicates = 0
        self.acked = 0
        self.batches = 0
        self.statuses = 0
        self.quarantined: Counter[str] = Counter()  # bad messages by reason, stored or not
        self.quarantine_suppressed: Counter[str] = Counter()  # of those, not stored (a flood)
        self._budget = QuarantineBudget(cfg.ingest.quarantine_per_device_per_min)
        self.db_ok = True
        self.db_error: str | None = None
        self.db_failures = 0
        self.backoff_s = 0.0
        self.last_commit_ms: int | None = None
        self.write_s_total = 0.0

    # --- subscriptions ------------------------------------------------------------------
    def filters(self) -> list[tuple[str, int]]:
        """Shared subscriptions for events and command replies; plain ones for state and health.

        Replies go through the shared group too: one instance stores each, and the reply
        finds its command in the shared database whichever instance sent it.
        """
        b = self.cfg.broker
        return [(f"$share/{b.group}/{b.prefix}/+/event/+", 1),
                (f"$share/{b.group}/{b.prefix}/+/reply/+", 1),
                (f"{b.prefix}/+/state", 1),
                (f"{b.prefix}/+/health", 0)]

    def start(self) -> IngestService:
        """Connect (retrying in the background), start the network thread and the writer."""
        b = self.cfg.broker
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = b.session_expiry_s
        props.ReceiveMaximum = b.receive_maximum
        self.client.connect_async(b.host, b.port, keepalive=KEEPALIVE_S, clean_start=False,
                                  properties=props)
        self._writer = threading.Thread(target=self._write_loop, name="central-writer", daemon=True)
        self._writer.start()
        self.client.loop_start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (if the database allows), then disconnect."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            self._broker_failed(explain_connack(reason, self.endpoint).message)
            return
        self.broker_error = None
        client.subscribe(self.filters())
        self.connected.set()
        log.info("connected to %s:%d as %s (session present: %s)", self.cfg.broker.host,
                 self.cfg.broker.port, self.cfg.broker.client_id, getattr(flags, "session_present", "?"))

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho retries by itself but says nothing: without this an instance whose broker is
        # unreachable printed its start line and then stayed silent (found by probing, session 42)
        diagnosis = probe(self.endpoint, "connect_fail") or closed_before_connack(self.endpoint)
        self._broker_failed(diagnosis.message)

    def _broker_failed(self, why: str) -> None:
        self.broker_failures += 1
        self.broker_error = why
        self._ratelog.log(logging.ERROR, "connect", "cannot connect to the broker at %s: %s; "
                          "retrying", self.endpoint.where, why)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: Any,
                       reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        with self._ack_lock:
            # Message ids of the old connection mean nothing on the next one: never ack them.
            self._generation += 1
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            self._ratelog.log(logging.WARNING, "disconnect", "broker connection lost (%s); reconnecting",
                              reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        item = Inbound(msg.mid, msg.qos, msg.topic, bytes(msg.payload),
                       getattr(props, "ContentType", None) if props is not None else None,
                       time.time_ns() // 1_000_000, self._generation,
                       getattr(props, "CorrelationData", None) if props is not None else None)
        with self._cond:
            if msg.qos == 0 and msg.topic.endswith("/health"):
                # Health is periodic and idempotent: keep the newest per device, so memory
                # stays bounded by the fleet size while the database is away.
                self._health_docs[msg.topic] = item
            else:
                # QoS 1: bounded by Receive Maximum (the broker waits for our PUBACKs).
                self._inbox.append(item)
            self._cond.notify()

    # --- writer ------------------------------------------------------------------------
    def _take(self) -> list[Inbound]:
        """Up to ``batch_max`` messages; waits ``batch_wait_ms`` for a batch to fill."""
        cfg = self.cfg.ingest
        with self._cond:
            if not self._inbox and not self._health_docs:
                self._cond.wait(IDLE_WAIT_S)
            if self._inbox and len(self._inbox) < cfg.batch_max and cfg.batch_wait_ms:
                self._cond.wait(cfg.batch_wait_ms / 1000)
            items = [self._inbox.popleft() for _ in range(min(cfg.batch_max, len(self._inbox)))]
            items += self._health_docs.values()
            self._health_docs.clear()
        return items

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._write_once()
            except Exception:  # a bug in one batch must not stop the ingest; it stays unacked
                log.exception("ingest batch failed; the messages stay unacknowledged")
                self._stop.wait(self.cfg.ingest.retry_max_s)

    def _write_once(self) -> None:
        items = self._take()
        if not items:
            return
        batch = Batch(max_nodes_per_device=self.cfg.ingest.max_nodes_per_device)
        suppressed: list[str] = []
        for it in items:
            c = classify(it.topic, it.payload, it.content_type, it.rx_ms, self.limits,
                         self.cfg.broker.prefix, it.correlation)
            if isinstance(c, EventRow):
                if self.grid is not None:
                    c.cell = self.grid.cell_at(c.lat, c.lon)
                batch.events.append(c)
            elif isinstance(c, StatusDoc):
                batch.statuses.append(c)
            elif isinstance(c, Reply):
                batch.replies.append(c)
            elif self._budget.allow(c.device, time.monotonic()):
                batch.quarantined.append(c)
            else:
                suppressed.append(c.reason)  # consumed and counted; its row is not written
        if not self._commit(batch):
            return  # stopping while the database is away: the broker keeps the rest
        self._ack(items)
        self.quarantined.update(q.reason for q in batch.quarantined)
        self.quarantined.update(suppressed)
        self.quarantine_suppressed.update(suppressed)
        self.statuses += len(batch.statuses)
        if self._on_batch is not None:
            self._on_batch(batch)

    def _commit(self, batch: Batch) -> bool:
        """Write until it commits; False only when asked to stop first."""
        delay = self.cfg.ingest.retry_min_s
        while True:
            t0 = time.perf_counter()
            try:
                result = self.store.write(batch)
            except Exception as exc:  # any database failure: the batch stays unacknowledged
                if not self.store.is_connection_error(exc):
                    return self._commit_one_by_one(batch, exc)
                self.db_ok = False
                text = str(exc).strip()
                self.db_error = text.splitlines()[0][:300] if text else type(exc).__name__
                self.db_failures += 1
                self.backoff_s = delay
                self._ratelog.log(logging.WARNING, "db-down",
                                  "database unavailable (%s): holding %d message(s) unacknowledged, "
                                  "retrying every %.1f s; the broker queues the rest",
                                  self.db_error, len(batch), delay)
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, self.cfg.ingest.retry_max_s)
                continue
            self.write_s_total += time.perf_counter() - t0
            if not self.db_ok:
                log.info("database is back after %d failed attempt(s)", self.db_failures)
            self.db_ok, self.db_error, self.backoff_s = True, None, 0.0
            self._count(result, batch.max_nodes_per_device)
            self.batches += 1
            self.last_commit_ms = time.time_ns() // 1_000_000
            return True

    def _commit_one_by_one(self, batch: Batch, first: BaseException) -> bool:
        """A batch the database refused as data: write item by item, quarantine what it refuses.

        One row the database can't take (a value PostgreSQL rejects) must not block the queue.
        """
        self._ratelog.log(logging.WARNING, "db-data", "database refused a batch (%s); writing it "
                          "one message at a time", str(first).strip()[:200])
        cap = batch.max_nodes_per_device
        singles = ([Batch(events=[e], max_nodes_per_device=cap) for e in batch.events]
                   + [Batch(quarantined=[q]) for q in batch.quarantined]
                   + [Batch(statuses=[s]) for s in batch.statuses]
                   + [Batch(replies=[r]) for r in batch.replies])
        for one in singles:
            try:
                result = self.store.write(one)
            except Exception as exc:  # a row the database refuses is quarantined instead
                if self.store.is_connection_error(exc):
                    return self._commit(batch)  # the database went away meanwhile: retry all
                row: Any = (one.events or one.quarantined or one.statuses or one.replies)[0]
                q = Quarantined(getattr(row, "rx_ms", 0), f"(stored item of {row.device})",
                                getattr(row, "device", None), "store_refused",
                                str(exc).strip()[:500], 0, b"")
                try:
                    self.store.write(Batch(quarantined=[q]))
                except Exception as exc2:  # even the quarantine record failed: count it, go on
                    self._ratelog.log(logging.ERROR, "quarantine", "cannot quarantine: %s", exc2)
                self.quarantined["store_refused"] += 1
                continue
            self._count(result, cap)
        self.batches += 1
        return True

    def _count(self, result: WriteResult, max_nodes: int) -> None:
        """Health figures of one committed write (a whole batch or one item of it)."""
        self.stored += result.inserted
        self.duplicates += result.duplicates
        if result.nodes_not_listed:
            self.nodes_not_listed += result.nodes_not_listed
            self._ratelog.log(logging.WARNING, "nodes", "a gateway names more than %d sensor "
                              "nodes: events of further nodes are stored, the nodes not listed "
                              "(%d so far; [ingest] max_nodes_per_device)",
                              max_nodes, self.nodes_not_listed)

    def _ack(self, items: list[Inbound]) -> None:
        with self._ack_lock:
            for it in items:
                if it.qos > 0 and it.generation == self._generation:
                    self.client.ack(it.mid, it.qos)
                    self.acked += 1

    # --- health ------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """What this instance is doing, for /api/v1/health and /metrics."""
        with self._cond:
            waiting = len(self._inbox) + len(self._health_docs)
        return {
            "instance": self.cfg.broker.client_id,
            "broker_connected": self.connected.is_set(),
            "broker_failures": self.broker_failures,
            "broker_error": self.broker_error,
            "subscribed": self.subscribed.is_set(),
            "database": {"ok": self.db_ok, "error": self.db_error, "failures": self.db_failures,
                         "backing_off_s": self.backoff_s, "kind": self.store.kind},
            "backpressure": (f"database unavailable: holding {waiting} message(s) unacknowledged "
                             "(the broker queues the rest in this instance's session)")
                            if not self.db_ok else None,
            "waiting": waiting,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "nodes_not_listed": self.nodes_not_listed,
            "acked": self.acked,
            "batches": self.batches,
            "statuses": self.statuses,
            "quarantined": dict(self.quarantined),
            "quarantine_suppressed": dict(self.quarantine_suppressed),
            "last_commit_ms": self.last_commit_ms,
            "write_s_total": round(self.write_s_total, 3),
        }
