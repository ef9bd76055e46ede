"""``edgepost central run``: the ingest, the escalation of late alarms and the web UI in one process.

Why one process: a district runs one or several identical instances (same shared group, own
client ids); each is complete on its own, so any of them can die without losing function.
Escalations are claimed in the database, so with several instances each alarm escalates once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.config import EVENT_KINDS, CentralConfig
from central.ingest import IngestService
from central.privacy import load_plate_key
from central.store import Store, open_store
from gateway.events import Format, Topics, dump_document
from gateway.ratelog import RateLimitedLog

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0  # retention is by days: hourly keeps an archive within an hour of its policy
ESCALATE_EVERY_S = 1.0  # how often late alarms are looked for: the promise is counted in seconds
WEBHOOK_TIMEOUT_S = 5.0  # a slow webhook must not hold up the next escalation


class CentralService:
    """Owns the stores, the ingest, the escalator and (optionally) the web server."""

    def __init__(self, cfg: CentralConfig) -> None:
        self.cfg = cfg
        self.store: Store = open_store(cfg.database.url)
        self.store.migrate()
        self.ingest = IngestService(cfg, self.store)  # reads the grid cells file (GridFileError)
        if cfg.plates.hash_key_file is not None:
            load_plate_key(cfg.plates.hash_key_file)  # fail at start (PlateKeyError), not on first search
        self.web_store: Store = open_store(cfg.database.url)  # the web's own connection
        self.side_store: Store = open_store(cfg.database.url)  # the escalator's
        self._stop = threading.Event()
        self._ratelog = RateLimitedLog(log, 30.0)
        self.escalated = 0
        self.server: Any = None
        self.web_port: int | None = None

    def send_command(self, device: str, name: str, args: dict[str, Any],
                     record: Callable[[str], None]) -> str:
        """Publish a command to a gateway (its ``cmd/<name>`` topic), as the operator asked.

        ``record(cid)`` writes it down (command list, audit log) before it is published: when
        that raises, nothing is sent, so no command reaches a gateway unaudited. Returns the
        correlation id the gateway's reply will carry (``reply/<name>``); a ValueError for a
        device or command name that cannot be a topic.
        """
        topic = Topics(device, self.cfg.broker.prefix).cmd(name)
        cid = f"{self.cfg.broker.client_id}-{uuid.uuid4().hex[:16]}"
        record(cid)
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = Format.JSON.content_type
        props.CorrelationData = cid.encode()
        props.ResponseTopic = Topics(device, self.cfg.broker.prefix).reply(name)
        self.ingest.client.publish(topic, dump_document(args, Format.JSON), qos=1, properties=props)
        return cid

    def retention_cutoffs(self, now_ms: int) -> dict[str, int]:
        """Per event kind, the time before which events are removed."""
        r = self.cfg.retention
        return {kind: now_ms - r.days_for(kind) * 86_400_000 for kind in EVENT_KINDS}

    def _escalate_loop(self) -> None:
        next_retention = time.monotonic() + 60  # not during start-up, when the ingest catches up
        while not self._stop.wait(ESCALATE_EVERY_S):
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + RETENTION_EVERY_S
                try:
                    now_ms = time.time_ns() // 1_000_000
                    removed = self.side_store.apply_retention(
                        self.retention_cutoffs(now_ms),
                        now_ms - self.cfg.retention.quarantine_days * 86_400_000)
                    if any(removed.values()):
                        log.info("retention removed %s", removed)
                except Exception as exc:  # the database may be away; the next hour tries again
                    self._ratelog.log(logging.WARNING, "retention", "retention failed: %s", exc)
            try:
                now = time.time_ns() // 1_000_000
                late = self.side_store.claim_escalations(now - self.cfg.alarms.ack_within_s * 1000, now)
            except Exception as exc:  # the database may be away; the ingest reports that
                self._ratelog.log(logging.WARNING, "escalate", "cannot check for late alarms: %s", exc)
                continue
            for alarm in late:
                self._notify(alarm)

    def _notify(self, alarm: dict[str, Any]) -> None:
        notice = {"kind": "escalation", "alarm": alarm, "instance": self.cfg.broker.client_id,
                  "reason": f"not acknowledged within {self.cfg.alarms.ack_within_s} s"}
        body = json.dumps(notice).encode()
        self.ingest.client.publish(self.cfg.alarms.escalation_topic, body, qos=1)
        self.escalated += 1
        log.warning("escalated alarm %s (%s at %s)", alarm["id"], alarm["category"], alarm["device"])
        if self.cfg.alarms.webhook_url:
            threading.Thread(target=self._webhook, args=(body,), daemon=True).start()

    def _webhook(self, body: bytes) -> None:
        req = urllib.request.Request(self.cfg.alarms.webhook_url or "", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_S):
                pass
        except Exception as exc:  # the notice went out over MQTT anyway; say the webhook failed
            self._ratelog.log(logging.WARNING, "webhook", "escalation webhook failed: %s", exc)

    def health(self) -> dict[str, Any]:
        """The ingest's health plus escalations sent by this instance."""
        return {**self.ingest.health(), "escalated": self.escalated}

    def run(self) -> None:
        """Start everything and serve until interrupted (SIGINT/SIGTERM)."""
        self.ingest.start()
        threading.Thread(target=self._escalate_loop, name="central-escalate", daemon=True).start()
        try:
            if self.cfg.web.enabled:
                self._serve_web()
            else:
                while not self._stop.wait(1.0):
                    pass
        finally:
            self.stop()

    def _serve_web(self) -> None:
        import uvicorn

        from central.web.app import build_app

        app = build_app(self.cfg, self.web_store, self.health, self.send_command, self.ingest.grid)
        config = uvicorn.Config(app, host=self.cfg.web.host, port=self.cfg.web.port,
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        orig = self.server.startup

        async def startup(sockets: Any = None) -> None:
            await orig(sockets)
            for s in self.server.servers:
                for sock in s.sockets:
                    self.web_port = sock.getsockname()[1]
            log.info("web UI on http://%s:%s/", self.cfg.web.host, self.web_port)
            print(f"central: web UI on http://{self.cfg.web.host}:{self.web_port}/", flush=True)

        self.server.startup = startup  # type: ignore[method-assign]
        self.server.run()

    def stop(self) -> None:
        """Stop the ingest (what is unacknowledged stays at the broker) and close the stores."""
        self._stop.set()
        if self.server is not None:
            self.server.should_exit = True
        self.ingest.stop()
        for s in (self.store, self.web_store, self.side_store):
            s.close()
