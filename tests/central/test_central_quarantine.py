"""One device's garbage must not fill the district's archive: the quarantine table keeps a
bounded number of rows per device per minute and is pruned by age (both backends, a real
mosquitto for the ingest)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from central.decode import Quarantined
from central.ingest import IngestService
from central.quarantine_budget import MAX_TRACKED, QuarantineBudget
from central.store import Batch, Store
from gateway.broker import LocalMosquitto
from gateway.events import Event, Topics, VehiclePassage, encode

DAY = 86_400_000


def test_the_budget_allows_a_burst_then_refills_at_its_rate_per_device() -> None:
    budget = QuarantineBudget(per_minute=6)
    assert [budget.allow("gw-1", 0.0) for _ in range(8)] == [True] * 6 + [False] * 2
    assert budget.allow("gw-2", 0.0), "another device has its own budget"
    assert not budget.allow("gw-1", 5.0), "6 per minute: one token every 10 s"
    assert budget.allow("gw-1", 10.5) and not budget.allow("gw-1", 10.6)
    assert sum(budget.allow("gw-1", 1000.0) for _ in range(10)) == 6, "the burst never exceeds the rate"
    assert [budget.allow(None, 0.0) for _ in range(7)][-1] is False, "no device: one shared budget"
    for i in range(MAX_TRACKED + 50):
        budget.allow(f"d{i}", 2000.0)
    assert len(budget._buckets) == MAX_TRACKED


def test_a_flooding_device_is_counted_not_stored_and_others_are_untouched(
        broker: LocalMosquitto, store: Store, central_config: Callable[..., Any]) -> None:
    cfg = central_config(broker.port, store.url, ingest={"quarantine_per_device_per_min": 5})
    ingest = IngestService(cfg, store).start()
    assert ingest.subscribed.wait(10)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    started = time.monotonic()
    try:
        flood, calm = Topics("gw-flood"), Topics("gw-calm")
        events = [Event.new(VehiclePassage(plate=f"京A{i:05d}")).with_seq(i) for i in range(1, 11)]
        for i, ev in enumerate(events):
            for _ in range(5):
                pub.publish(flood.event(ev.type), b"\xff garbage", qos=1).wait_for_publish(5)
            pub.publish(calm.event(ev.type), encode(ev), qos=1).wait_for_publish(5)
            if i == 4:
                pub.publish(calm.event(ev.type), b"\xff one bad", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (store.totals()["events"] < 10
                                               or sum(ingest.quarantined.values()) < 51):
            time.sleep(0.05)  # polling the archive and the ingest's counters, with a deadline
        elapsed = time.monotonic() - started
        assert store.totals()["events"] == 10, "the calm device's events are all stored"
        rows = store.quarantine(limit=1000)
        by_device = {d: sum(1 for r in rows if r["device"] == d) for d in ("gw-flood", "gw-calm")}
        assert by_device["gw-calm"] == 1, "its one bad message is kept: its own budget"
        refill = int(elapsed * 5 / 60) + 1
        assert 5 <= by_device["gw-flood"] <= 5 + refill, (by_device, elapsed)
        assert ingest.quarantined["undecodable"] == 51, "every bad message is counted"
        assert ingest.quarantine_suppressed["undecodable"] == 50 - by_device["gw-flood"]
        assert ingest.health()["quarantine_suppressed"] == {"undecodable": 50 - by_device["gw-flood"]}
    finally:
        pub.loop_stop()
        pub.disconnect()
        ingest.stop()


def test_quarantined_rows_go_with_age(store: Store) -> None:
    now = time.time_ns() // 1_000_000

    def bad(rx_ms: int) -> Quarantined:
        return Quarantined(rx_ms, "edgepost/v1/gw-1/event/object", "gw-1", "undecodable",
                           "not CBOR", 3, b"\xff\x00\x01")

    store.write(Batch(quarantined=[bad(now - 40 * DAY), bad(now - 31 * DAY), bad(now - DAY)]))
    removed = store.apply_retention({"object": now - 90 * DAY}, quarantine_before_ms=now - 30 * DAY)
    assert removed["quarantine"] == 2
    assert [r["rx_ms"] for r in store.quarantine()] == [now - DAY]


def test_the_retention_command_prunes_the_quarantine_too(store: Store, tmp_path: Path) -> None:
    now = time.time_ns() // 1_000_000
    store.write(Batch(quarantined=[
        Quarantined(now - 40 * DAY, "edgepost/v1/gw-1/event/object", "gw-1", "undecodable", "x", 1, b"x"),
        Quarantined(now - DAY, "edgepost/v1/gw-1/event/object", "gw-1", "undecodable", "x", 1, b"x")]))
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'[database]\nurl = "{store.url}"\n[retention]\nquarantine_days = 30\n'
                   '[web]\nenabled = false\n')
    done = subprocess.run([sys.executable, "-m", "gateway.cli.main", "central", "retention", "-c",
                           str(cfg)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "deleted 1 quarantined message(s) older than 30 day(s)" in done.stdout
    assert [r["rx_ms"] for r in store.quarantine()] == [now - DAY]
