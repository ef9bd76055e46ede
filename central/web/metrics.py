"""Prometheus figures of the centre: the fleet from the archive, this instance's ingest, logins.

Why its own module: ``/metrics`` needs no login and must answer while the archive is away (a
scrape that fails tells an operator less than one saying ``edgepost_central_archive_up 0``), so
its collectors read defensively; the pages' routes live in :mod:`central.web.app`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from central.store import Store
from webkit.throttle import LoginThrottle


def gauge_value(figure: Any) -> float | None:
    """A device's health figure as a gauge value, or None when it is not a finite number.

    A device sends what it sends: a text, a bool or an integer beyond the float range (CBOR
    carries any size, and float() of one raises) must cost that figure only, not the whole
    fleet's /metrics."""
    if isinstance(figure, bool) or not isinstance(figure, int | float):
        return None
    try:
        value = float(figure)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


class FleetCollector:
    """Prometheus figures of the fleet, read from the latest health and state documents."""

    def __init__(self, store: Store, ingest_health: Callable[[], dict[str, Any]] | None) -> None:
        self.store, self.ingest_health = store, ingest_health

    def collect(self) -> Any:
        up = GaugeMetricFamily("edgepost_central_archive_up",
                               "1 when the archive database answered this scrape")
        try:
            families = list(self._archive())
        except Exception as exc:
            if not self.store.is_connection_error(exc):
                raise
            families = []  # the archive is away: say so, and still give the ingest's figures
        up.add_metric([], 1.0 if families else 0.0)
        yield up
        yield from families
        yield from self._ingest()

    def _archive(self) -> Any:
        online = GaugeMetricFamily("edgepost_device_online", "1 when the device's retained state says online",
                                   labels=["device"])
        depth = GaugeMetricFamily("edgepost_device_spool_depth", "events waiting in the device's spool",
                                  labels=["device"])
        dropped = GaugeMetricFamily("edgepost_device_spool_dropped", "events the device's spool dropped",
                                    labels=["device"])
        seen = GaugeMetricFamily("edgepost_device_last_seen_seconds", "when the centre last heard from it",
                                 labels=["device"])
        for d in self.store.fleet():
            dev = [d["device"]]
            if d["online"] is not None:
                online.add_metric(dev, 1.0 if d["online"] else 0.0)
            if (value := gauge_value(d["spool_depth"])) is not None:
                depth.add_metric(dev, value)
            if (value := gauge_value(d["dropped"])) is not None:
                dropped.add_metric(dev, value)
            if d["last_seen_ms"]:
                seen.add_metric(dev, d["last_seen_ms"] / 1000)
        yield from (online, depth, dropped, seen)
        totals = self.store.totals()
        yield GaugeMetricFamily("edgepost_central_events_stored", "events in the archive",
                                value=float(totals["events"]))
        yield GaugeMetricFamily("edgepost_central_alarms_open", "alarms not acknowledged",
                                value=float(totals["open_alarms"]))
        q = GaugeMetricFamily("edgepost_central_quarantined", "messages quarantined, by reason",
                              labels=["reason"])
        for reason, n in totals["quarantined"].items():
            q.add_metric([reason], float(n))
        yield q

    def _ingest(self) -> Any:
        if self.ingest_health is not None:
            h = self.ingest_health()
            inst = [h["instance"]]
            db = GaugeMetricFamily("edgepost_central_database_ok", "1 when this instance can write",
                                   labels=["instance"])
            db.add_metric(inst, 1.0 if h["database"]["ok"] else 0.0)
            broker = GaugeMetricFamily("edgepost_central_broker_connected",
                                       "1 when this instance is connected to the broker",
                                       labels=["instance"])
            broker.add_metric(inst, 1.0 if h.get("broker_connected") else 0.0)
            waiting = GaugeMetricFamily("edgepost_central_waiting", "messages held unacknowledged",
                                        labels=["instance"])
            waiting.add_metric(inst, float(h["waiting"]))
            suppressed = GaugeMetricFamily(
                "edgepost_central_quarantine_suppressed",
                "bad messages counted but not stored (a device past its quarantine budget), by reason",
                labels=["instance", "reason"])
            for reason, n in h.get("quarantine_suppressed", {}).items():
                suppressed.add_metric([*inst, reason], float(n))
            yield from (db, broker, waiting, suppressed)


class LoginCollector:
    """Prometheus counters of the UI's login attempts: failed, and refused while an address waits."""

    def __init__(self, throttle: LoginThrottle) -> None:
        self.throttle = throttle

    def collect(self) -> Any:
        totals = self.throttle.snapshot()
        yield CounterMetricFamily("edgepost_central_login_failed", "login attempts that failed",
                                  value=float(totals["login_failed"]))
        yield CounterMetricFamily("edgepost_central_login_refused",
                                  "login attempts refused while their address waits (too many failures)",
                                  value=float(totals["login_refused"]))
