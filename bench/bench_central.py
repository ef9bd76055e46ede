"""Central ingest and queries: PostgreSQL and SQLite against a bare paho subscriber, same run.

    .venv/bin/python bench/bench_central.py [--events 20000] [--repeats 3] [--rows 10000000]

Ingest: the same pre-encoded CBOR events (50 devices, vehicle passages) are published at QoS 1
as fast as one paho publisher goes, into a private mosquitto; the consumer is, interleaved per
repeat, (a) a bare paho subscriber that only counts, (b) the central ingest into SQLite,
(c) the central ingest into PostgreSQL (private cluster). Reported: events/s from first to
last stored (medians with min/max), and p50/p99 time from publish to stored in a paced run.
Queries: ``--rows`` generated events in PostgreSQL (SQL generate_series), then trajectory and
wildcard plate search timed (p50/p99 of 200 queries each).
District (``--district``): 300 simulated gateways at 3,200 events/s for 60 s (health every
10 s) into one mosquitto and two ``edgepost central`` processes in one shared group storing into
PostgreSQL, with the must-hold test's faults scaled to 60 s: one instance killed with SIGKILL at
10 s and restarted at 15 s, PostgreSQL stopped from 20 s to 40 s, 5 % of the gateways dropping
off at 45 s for 4 s and reconnecting with a burst. Reported: the rate the simulator actually
reached (exit status 1 when it falls short of the target: the run then proves nothing about
the centre), the ingest rate (stored events over the time until the last was stored), whether
every acknowledged event is stored exactly once, and CPU seconds per process.

    .venv/bin/python bench/bench_central.py --district [--rate 3200] [--duration 60]
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
from collections.abc import Callable
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "central"))
SHORTFALL = 0.98  # the simulator must reach 98 % of the target rate, or the run doesn't count


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
    # what autovacuum does to insert-only partitions (PostgreSQL >= 13): statistics and the
    # visibility map that index-only scans rely on
    store.conn.autocommit = True
    store.conn.execute("VACUUM (ANALYZE) events")
    # the load leaves gigabytes of dirty pages: flush them now, not during the timed queries
    store.conn.execute("CHECKPOINT")
    store.conn.autocommit = False
    load_s = time.perf_counter() - t0
    plates = [r["plate"] for r in store._rows("SELECT plate FROM events TABLESAMPLE SYSTEM (1) LIMIT 200")]
    for p in plates[:20]:  # warm-up, untimed: a live archive's recent partitions are in memory
        store.plates(PlateQuery(text=p[:5] + "*", limit=100))
    traj, wild, pref = [], [], []
    common: list[bool] = []
    for p in plates:
        t = time.perf_counter()
        store.trajectory(PlateQuery(text=p))
        traj.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.plates(PlateQuery(text="*" + p[-4:], limit=100))
        wild.append((time.perf_counter() - t) * 1000)
        q = PlateQuery(text=p[:5] + "*", limit=100)
        t = time.perf_counter()
        store.plates(q)
        pref.append((time.perf_counter() - t) * 1000)
        # the generator makes plates starting with 1 eleven times as common (lpad truncation)
        common.append(p[2] == "1")
    plans = {}
    rare = next((x for x in plates if x[2] != "1"), plates[0])
    often = next((x for x in plates if x[2] == "1"), plates[0])
    for name, text in (("wildcard_prefix common", often[:5] + "*"), ("wildcard_prefix rare", rare[:5] + "*"),
                       ("wildcard_suffix", "*" + rare[-4:])):
        q = PlateQuery(text=text, limit=100)
        name = f"{name} {text}"
        where, params = store._plate_where(q)  # the inner query the API runs, explained
        rows_ = store._rows("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id, ts_ms "
                            f"FROM events WHERE {where} ORDER BY ts_ms DESC LIMIT %s", (*params, q.limit))
        plans[name] = "\n".join(r["QUERY PLAN"] for r in rows_[:14])
    store.close()
    return {"rows": rows, "load_s": load_s, "trajectory": traj, "wildcard_suffix": wild,
            "wildcard_prefix": pref,
            "wildcard_prefix, common prefixes": [v for v, c in zip(pref, common, strict=True) if c],
            "wildcard_prefix, rare prefixes": [v for v, c in zip(pref, common, strict=True) if not c],
            "plans": plans}


def _cpu_s(pid: int) -> float | None:
    """utime + stime of a process in seconds (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(ppid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == ppid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
    return out


class CpuMeter:
    """CPU seconds per role during the run, sampled every second (a process's last sample
    counts when it ends; processes already running at the start count from there).

    It also samples the archive's event count, for the peak ingest rate (the catch-up after
    the database outage)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], float] = {}
        self.base: dict[tuple[str, int], float] = {}
        self.count: Callable[[], int] | None = None
        self.counts: list[tuple[float, int]] = []
        self.roles: dict[str, Callable[[], list[int]]] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()
            if self.count is not None:
                try:
                    self.counts.append((time.monotonic(), self.count()))
                except Exception:  # the database is down on purpose part of the time
                    continue

    def peak_rate(self, window_s: float = 5.0) -> float:
        """Most events stored per second over any window of about ``window_s``."""
        best = 0.0
        for i, (t0, n0) in enumerate(self.counts):
            for t1, n1 in self.counts[i + 1:]:
                if t1 - t0 >= window_s:
                    best = max(best, (n1 - n0) / (t1 - t0))
                    break
        return best

    def sample(self) -> None:
        for role, pids in self.roles.items():
            for pid in pids():
                v = _cpu_s(pid)
                if v is not None:
                    self.last[(role, pid)] = v

    def start(self) -> CpuMeter:
        self.sample()
        self.base = dict(self.last)
        self._t.start()
        return self

    def stop(self) -> dict[str, float]:
        self.sample()
        self._stop.set()
        out: dict[str, float] = {}
        for key, v in self.last.items():
            out[key[0]] = out.get(key[0], 0.0) + v - self.base.get(key, 0.0)
        return out


def district_bench(rate: float, duration: float, tmp: Path) -> dict[str, Any]:
    from tests_central_helpers import district_pair

    from central.sim import District, DistrictPlan

    broker = LocalMosquitto(persistence=True)
    pg = LocalPostgres()
    procs: list[Any] = []
    meter = CpuMeter()
    try:
        broker.start()
        pg.start()
        url = pg.create_database("district")
        open_store(url).migrate()
        a, b = district_pair(broker.port, url, tmp, receive_maximum=4000)
        procs += [a, b]
        own = os.getpid()
        meter.roles = {
            "simulator (this process)": lambda: [own],
            "mosquitto": lambda: [broker.proc.pid] if broker.proc else [],
            "central-a": lambda: [a.proc.pid] if a.proc and a.proc.poll() is None else [],
            "central-b": lambda: [b.proc.pid] if b.proc and b.proc.poll() is None else [],
            "postgresql (all server processes)": lambda: _pg_pids(pg),
        }
        counter = open_store(url)
        meter.count = lambda: int(counter.totals()["events"])
        meter.start()
        plan = DistrictPlan(gateways=300, rate=rate, duration_s=duration, health_interval_s=10,
                            port=broker.port, outage_share=0.05, outage_at_s=duration * 0.75,
                            outage_s=4)
        done: set[str] = set()
        marks = {"kill": duration / 6, "restart": duration / 4, "pg-stop": duration / 3,
                 "pg-start": duration / 3 + 20}

        def faults(t: float) -> None:
            for name, at in marks.items():
                if t >= at and name not in done:
                    done.add(name)
                    {"kill": a.kill9, "restart": a.start, "pg-stop": lambda: pg.stop("fast"),
                     "pg-start": pg.start}[name]()

        t0 = time.monotonic()
        load0 = os.getloadavg()[0]
        report = District(plan).run(drain_timeout_s=120, on_tick=faults)
        faults(float("inf"))  # a short run ends before its last fault: bring everything back
        store = open_store(url)
        deadline = time.monotonic() + 300
        n = 0
        while time.monotonic() < deadline:
            n = store.totals()["events"]
            if n >= report.acked:
                break
            time.sleep(0.5)  # polling the archive with a deadline
        stored_at = time.monotonic() - t0
        ids = store.event_ids()
        store.close()
        cpu = meter.stop()
        counter.close()
        return {"peak": meter.peak_rate(), "report": report, "stored": len(ids), "unique": len(set(ids)),
                "missing": len(report.acked_ids - set(ids)), "extra": len(set(ids) - report.acked_ids),
                "stored_s": stored_at, "faults": sorted(done), "cpu": cpu,
                "load": (load0, os.getloadavg()[0])}
    finally:
        for p in procs:
            p.stop()
        pg.close()
        broker.close()


def _pg_pids(pg: LocalPostgres) -> list[int]:
    try:
        master = int((pg.datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [master, *_children(master)]


def report_district(r: dict[str, Any], rate: float, duration: float) -> bool:
    rep: Any = r["report"]
    ok_rate = rep.rate >= SHORTFALL * rate
    print(f"\n## full district: 300 gateways, target {rate:,.0f} events/s for {duration:.0f} s, "
          f"faults {', '.join(r['faults'])}; load average {r['load'][0]:.2f} before, "
          f"{r['load'][1]:.2f} after\n")
    print("| figure | value |\n|---|---|")
    print(f"| simulator rate reached | **{rep.rate:,.0f} events/s** "
          f"({'meets' if ok_rate else 'FALLS SHORT of'} the target) |")
    print(f"| events generated / acknowledged by the broker | {rep.generated:,} / {rep.acked:,} |")
    print(f"| ingest rate (stored / time until the last was stored) | "
          f"{r['stored'] / r['stored_s']:,.0f} events/s ({r['stored']:,} in {r['stored_s']:.0f} s) |")
    print(f"| peak ingest rate (best 5 s window, the catch-up after the outage) | "
          f"{r['peak']:,.0f} events/s |")
    print(f"| stored exactly once | missing {r['missing']}, extra {r['extra']}, "
          f"duplicates {r['stored'] - r['unique']} |")
    print(f"| outages / reconnects / health documents | {rep.outages} / {rep.reconnects} / "
          f"{rep.health_sent} |")
    wall = r["stored_s"]
    print("\n| process | CPU s | share of one core over the run |\n|---|---|---|")
    for role, s in sorted(r["cpu"].items()):
        print(f"| {role} | {s:.1f} | {100 * s / wall:.0f} % |")
    exact = r["missing"] == 0 and r["extra"] == 0 and r["stored"] == r["unique"]
    if not ok_rate:
        print(f"\nFAIL: the simulator reached {rep.rate:,.0f} events/s, short of {rate:,.0f}: "
              "this machine can't generate the district's load, so the run proves nothing about "
              "the centre at that rate.")
    return ok_rate and exact


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--district", action="store_true", help="only the full-district run")
    ap.add_argument("--rate", type=float, default=3200.0, help="district target events/s")
    ap.add_argument("--duration", type=float, default=60.0, help="district run seconds")
    args = ap.parse_args()
    import tempfile

    if args.district:
        print(f"# central district benchmark, {dt.date.today()}, {cpu_name()}, {os.cpu_count()} cores")
        with tempfile.TemporaryDirectory() as tmp:
            ok = report_district(district_bench(args.rate, args.duration, Path(tmp)), args.rate,
                                 args.duration)
        return 0 if ok else 1

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
    for name, v in q.items():
        if isinstance(v, list) and v:
            print(f"| {name} (n={len(v)}) | {pct(v, 50):.1f} | {pct(v, 99):.1f} | {max(v):.1f} |")
    for name, plan in q["plans"].items():
        print(f"\nplan of {name}:\n```\n{plan}\n```")


if __name__ == "__main__":
    raise SystemExit(main())
