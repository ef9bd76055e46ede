"""Central ingest and queries: PostgreSQL and SQLite against a bare paho subscriber, same run.

    .venv/bin/python bench/bench_central.py [--events 20000] [--repeats 3] [--rows 10000000]

Ingest: the same pre-encoded CBOR events (50 devices, vehicle passages) are published at QoS 1
as fast as one paho publisher goes, into a private mosquitto; the consumer is, interleaved per
repeat, (a) a bare paho subscriber that only counts, (b) the central ingest into SQLite,
(c) the central ingest into PostgreSQL (private cluster). Reported: events/s from first to
last stored (medians with min/max), and p50/p99 time from publish to stored in a paced run.
Queries: ``--rows`` generated events in PostgreSQL (SQL generate_series), then trajectory and
wildcard plate search timed (p50/p99 of 200 queries each).
The full-district run (300 gateways at 3,200 events/s for 60 s with faults) is not in this
script yet: see bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import cpu_name
from central.config import CentralConfig
from central.ingest import IngestService
from central.pglocal import LocalPostgres
from central.store import Batch, PlateQuery, open_store
from gateway.broker import LocalMosquitto
from gateway.events import Direction, Event, Location, Topics, VehiclePassage, encode


def make_events(n: int, devices: int = 50) -> list[tuple[str, bytes]]:
    rng = random.Random(7)
    seqs = [0] * devices
    out = []
    for i in range(n):
        d = i % devices
        seqs[d] += 1
        ev = Event.new(VehiclePassage(plate=f"浙A{rng.randint(0, 99999):05d}", plate_conf=0.9,
                                      direction=Direction.INBOUND, vehicle_class="car"),
                       loc=Location(30.0, 120.0)).with_seq(seqs[d])
        out.append((Topics(f"gw-{d:03d}").event(ev.type), encode(ev)))
    return out


def publish_all(port: int, data: list[tuple[str, bytes]], pace: float = 0.0) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time_ns()}",
                    protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(64)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = []
    t0 = time.perf_counter()
    for i, (topic, payload) in enumerate(data):
        if pace:
            delay = t0 + i / pace - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the publisher to a fixed rate
            # stamped now, so the event time is the publish time (latency = stored - published)
            ev = Event.new(VehiclePassage(plate="浙A00000", direction=Direction.INBOUND)).with_seq(i + 1)
            topic, payload = Topics("gw-lat").event(ev.type), encode(ev)
        infos.append(c.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


def bare(port: int, data: list[tuple[str, bytes]]) -> float:
    """A paho subscriber that only counts (shared group alone, QoS 1, automatic acks)."""
    got, first, last = 0, 0.0, 0.0
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)

    def on_msg(c: object, u: object, m: object) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got == len(data):
            last = time.perf_counter()
            done.set()

    sub.on_message = on_msg
    sub.connect("127.0.0.1", port)
    sub.subscribe("$share/bare/edgepost/v1/+/event/+", qos=1)
    sub.loop_start()
    time.sleep(0.5)  # the SUBACK; the bare baseline has nothing better to wait on
    publish_all(port, data)
    done.wait(300)
    sub.disconnect()
    sub.loop_stop()
    return len(data) / (last - first)


def central(port: int, url: str, data: list[tuple[str, bytes]], tag: str,
            pace: float = 0.0) -> tuple[float, list[float]]:
    """Central ingest into ``url``: events/s first-to-last stored, and publish-to-stored latencies."""
    store = open_store(url)
    store.migrate()
    cfg = CentralConfig.model_validate({"broker": {"port": port, "client_id": f"bench-{tag}",
                                                   "group": f"g-{tag}"},
                                        "database": {"url": url}, "web": {"enabled": False}})
    lat: list[float] = []
    stored = 0
    first = last = 0.0
    done = threading.Event()

    def on_batch(b: Batch) -> None:
        nonlocal stored, first, last
        now_ms = time.time_ns() / 1e6
        if stored == 0:
            first = time.perf_counter()
        stored += len(b.events)
        lat.extend(now_ms - e.ts_ms for e in b.events)
        if stored >= len(data):
            last = time.perf_counter()
            done.set()

    ingest = IngestService(cfg, store, on_batch=on_batch).start()
    ingest.subscribed.wait(10)
    publish_all(port, data, pace)
    done.wait(600)
    ingest.stop()
    store.close()
    return len(data) / (last - first), lat


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def fresh(data: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """New ids and times for a repeat (the archive would drop the old ones as duplicates)."""
    return make_events(len(data))


def ingest_bench(n: int, repeats: int, pg: LocalPostgres, tmp: Path) -> dict[str, Any]:
    res: dict[str, list[float]] = {"bare paho subscriber (counts only)": [], "central → SQLite": [],
                                   "central → PostgreSQL": []}
    with LocalMosquitto() as broker:
        for r in range(repeats):  # interleaved: each repeat runs all three
            res["bare paho subscriber (counts only)"].append(bare(broker.port, make_events(n)))
            res["central → SQLite"].append(
                central(broker.port, f"sqlite:///{tmp}/bench-{r}.sqlite3", make_events(n), f"s{r}")[0])
            res["central → PostgreSQL"].append(
                central(broker.port, pg.create_database(f"bench{r}"), make_events(n), f"p{r}")[0])
        # latency at a paced, sustainable rate (1,000 events/s for 10 s)
        _, lat_pg = central(broker.port, pg.create_database("benchlat"), make_events(10_000), "lat-pg",
                            pace=1000)
        _, lat_sq = central(broker.port, f"sqlite:///{tmp}/lat.sqlite3", make_events(10_000), "lat-sq",
                            pace=1000)
    return {"rates": res, "latency": {"PostgreSQL": lat_pg, "SQLite": lat_sq}}


def query_bench(pg: LocalPostgres, rows: int) -> dict[str, Any]:
    url = pg.create_database("benchq")
    store = open_store(url)
    store.migrate()
    day = 86_400_000
    now = time.time_ns() // 1_000_000
    start = now - 7 * day
    store._ensure_partitions(list(range(start, now + day, day)))  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    chunk = 500_000
    with store._tx() as cur:  # generated rows: 300 checkpoints, 200,000 plates, 7 days
        for off in range(0, rows, chunk):
            cur.execute(
                "INSERT INTO events (id, ts_ms, device, seq, type, rx_ms, plate, direction, "
                "vehicle_class, "
                "body) SELECT decode(md5(g::text), 'hex'), %s + (g::bigint * %s / %s), "
                "'cp-' || mod(g, 300), g / 300 + 1, 'vehicle_passage', %s + (g::bigint * %s / %s), "
                "'浙A' || lpad(mod(hashint4(g) & 2147483647, 200000)::text, 5, '0'), "
                "'inbound', 'car', '{}'::jsonb "
                "FROM generate_series(%s, %s) g",
                (start, 7 * day, rows, start, 7 * day, rows, off, min(off + chunk, rows) - 1))
    with store._tx() as c2:
        c2.execute("ANALYZE events")
    load_s = time.perf_counter() - t0
    plates = [r["plate"] for r in store._rows("SELECT plate FROM events TABLESAMPLE SYSTEM (1) LIMIT 200")]
    traj, wild, pref = [], [], []
    for p in plates:
        t = time.perf_counter()
        store.trajectory(PlateQuery(text=p))
        traj.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.plates(PlateQuery(text="*" + p[-4:], limit=100))
        wild.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.plates(PlateQuery(text=p[:5] + "*", limit=100))
        pref.append((time.perf_counter() - t) * 1000)
    plans = {}
    p = plates[0]
    for name, q in (("wildcard_prefix", PlateQuery(text=p[:5] + "*", limit=100)),
                    ("wildcard_suffix", PlateQuery(text="*" + p[-4:], limit=100))):
        where, params = store._plate_where(q)  # the query the API runs, explained
        rows_ = store._rows(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id, ts_ms FROM events "
            f"WHERE {where} ORDER BY ts_ms DESC LIMIT %s", (*params, q.limit))
        plans[name] = "\n".join(r["QUERY PLAN"] for r in rows_[:14])
    store.close()
    return {"rows": rows, "load_s": load_s, "trajectory": traj, "wildcard_suffix": wild,
            "wildcard_prefix": pref, "plans": plans}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    import tempfile

    print(f"# central benchmark, {dt.date.today()}, {cpu_name()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    with LocalPostgres() as pg, tempfile.TemporaryDirectory() as tmp:
        if not args.skip_ingest:
            report_ingest(ingest_bench(args.events, args.repeats, pg, Path(tmp)), args)
        if not args.skip_queries:
            report_queries(query_bench(pg, args.rows))
    return 0


def report_ingest(r: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n## ingest, {args.events} events per run, {args.repeats} interleaved repeats\n")
    print("| consumer | events/s (median) | min / max |\n|---|---|---|")
    for name, v in r["rates"].items():
        print(f"| {name} | {statistics.median(v):,.0f} | {min(v):,.0f} / {max(v):,.0f} |")
    print("\n| publish → stored at 1,000 events/s | p50 ms | p99 ms |\n|---|---|---|")
    for name, lat in r["latency"].items():
        print(f"| {name} | {pct(lat, 50):.1f} | {pct(lat, 99):.1f} |")


def report_queries(q: dict[str, Any]) -> None:
    print(f"\n## queries over {q['rows']:,} generated events "
          f"(PostgreSQL, loaded in {q['load_s']:.0f} s, load average {os.getloadavg()[0]:.2f})\n")
    print("| query | p50 ms | p99 ms | max ms |\n|---|---|---|---|")
    for name in ("trajectory", "wildcard_prefix", "wildcard_suffix"):
        v = q[name]
        print(f"| {name} | {pct(v, 50):.1f} | {pct(v, 99):.1f} | {max(v):.1f} |")
    for name, plan in q["plans"].items():
        print(f"\nplan of {name}:\n```\n{plan}\n```")


if __name__ == "__main__":
    raise SystemExit(main())
