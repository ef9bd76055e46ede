"""``/metrics``: the gateway's health report in the Prometheus text format.

Why built from the health report: one source of truth. What the gateway publishes on
``.../health`` and what a site's own Prometheus scrapes are the same figures, taken at scrape
time, so nothing is counted twice or drifts. Names are ``edgepost_gateway_<section>_<key>``;
cameras, stages, sensor readers, nodes and named counters are labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

PREFIX = "edgepost_gateway"
_BAD = re.compile(r"[^a-zA-Z0-9_]")


def _name(*parts: str) -> str:
    return _BAD.sub("_", "_".join((PREFIX, *parts)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


class _Families:
    """Gauge families by name, created on first use with the labels they carry."""

    def __init__(self) -> None:
        self.by_name: dict[str, GaugeMetricFamily] = {}

    def add(self, name: str, doc: str, value: Any, labels: Mapping[str, str] | None = None) -> None:
        number = _number(value)
        if number is None:
            return
        labels = labels or {}
        fam = self.by_name.get(name)
        if fam is None:
            fam = self.by_name[name] = GaugeMetricFamily(name, doc, labels=list(labels))
        fam.add_metric(list(labels.values()), number)


class HealthCollector:
    """A prometheus_client collector reading ``report()`` (the health document) on each scrape."""

    def __init__(self, report: Callable[[], dict[str, Any]],
                 nodes: Callable[[], dict[str, dict[str, Any]]] | None = None) -> None:
        self.report, self.nodes = report, nodes

    def collect(self) -> Iterator[Metric]:
        doc = self.report()
        f = _Families()
        for key, value in doc.items():
            if key != "ts":
                f.add(_name(key), f"health: {key}", value)
        for section in ("spool", "uplink", "clips"):
            for key, value in (doc.get(section) or {}).items():
                f.add(_name(section, key), f"health: {section}.{key}", value)
        for cam, h in (doc.get("cameras") or {}).items():
            self._camera(f, cam, h)
        for reader, counters in (doc.get("sensors") or {}).items():
            for key, value in (counters or {}).items():
                f.add(_name("sensor", key), f"sensor reader counter {key}", value, {"reader": reader})
        for key, value in (doc.get("counters") or {}).items():
            f.add(_name("counter"), "named gateway counters (bad input, faults...)", value,
                  {"name": key})
        for node, facts in (self.nodes() if self.nodes else {}).items():
            for key, value in facts.items():
                f.add(_name("node", key), f"node {key} (from its newest event)", value,
                      {"node": node})
        yield from f.by_name.values()

    @staticmethod
    def _camera(f: _Families, cam: str, h: Mapping[str, Any]) -> None:
        lab = {"camera": cam}
        f.add(_name("camera_up"), "1 when the camera runs without a start error",
              "error" not in h, lab)
        for key, value in h.items():
            if key in ("stages", "latency", "spool_latency_ms", "source", "events"):
                continue
            f.add(_name("camera", key), f"camera health: {key}", value, lab)
        for stage, stats in (h.get("stages") or {}).items():
            for stat, value in stats.items():
                f.add(_name("camera_stage", stat), f"camera stage time: {stat}", value,
                      {**lab, "stage": stage})
        for stat, value in (h.get("latency") or {}).items():
            f.add(_name("camera_latency", stat), f"capture to event: {stat}", value, lab)
        for kind, n in (h.get("events") or {}).items():
            f.add(_name("camera_events"), "vision events by kind", n, {**lab, "kind": kind})
        for key, value in (h.get("source") or {}).items():
            f.add(_name("camera_source", key), f"frame source: {key}", value, lab)


def registry_for(report: Callable[[], dict[str, Any]],
                 nodes: Callable[[], dict[str, dict[str, Any]]] | None = None) -> CollectorRegistry:
    """A registry holding only the health collector (no process or GC metrics of the library)."""
    registry = CollectorRegistry()
    registry.register(HealthCollector(report, nodes))  # type: ignore[arg-type]
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry``."""
    return generate_latest(registry)
