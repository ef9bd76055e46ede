"""Uplink benchmarks: drain rate on loopback, throughput over a 50 ms WAN, idle latency.

    .venv/bin/python bench/bench_uplink.py [loopback|wan|latency|all] [--repeats 3] [--write]

``loopback``: the durable uplink (SQLite spool, delete on PUBACK) against two bare paho
publishers with the same in-flight window, same broker, same run (target >= 0.50).

``wan``: the same uplink with the configuration a site gets (only host and port set)
against a naive publish-and-wait client, through a link with ``--rtt-ms`` of round-trip
delay that the bench builds itself (bench/netdelay.py: network namespace, veth pair, user-
space delay relay; needs root). Also shown: bare paho at the same window (the ceiling) and
the uplink at the old default window of 32. Target: uplink >= 50x naive.

``latency``: an event committed to the spool while the uplink is idle, until a subscriber
on the same broker has it (an upper bound of commit -> on the wire), against a bare paho
QoS 1 publish -> the same subscriber (the broker hop alone). Target: p50 <= 2 ms.

Every comparison runs its sides interleaved, ``--repeats`` times (default 3), and reports
the median with min and max; the broker is a private mosquitto configured as
``edgepost provision broker`` configures one (``set_tcp_nodelay true``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.broker import LocalMosquitto  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.config.mqtt import MqttConfig  # noqa: E402
from gateway.events import Event, Format, Location, Topics, VehiclePassage, encode  # noqa: E402
from gateway.events.types import Direction, PlateColour  # noqa: E402
from gateway.uplink import Draft, Spool, Uplink  # noqa: E402
from gateway.uplink.client import publish_properties, set_nodelay  # noqa: E402

TOPIC = "edgepost/v1/gw-bench/event/vehicle_passage"
DEFAULT_WINDOW = MqttConfig().window
BROKER_CONF = "set_tcp_nodelay true"  # as provisioning/broker_config.py writes it


def payloads(n: int) -> list[bytes]:
    loc = Location(31.230416, 121.473701)
    return [encode(Event.new(VehiclePassage(plate=f"京A{i % 100000:05d}", plate_conf=0.97,
                                            plate_colour=PlateColour.BLUE,
                                            direction=Direction.INBOUND, zone="lane-1"),
                             loc=loc).with_seq(i + 1)) for i in range(n)]


def connected_client(host: str, port: int, client_id: str, window: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    client.connect(host, port)
    deadline = time.monotonic() + 10
    while not client.is_connected():
        client.loop(0.01)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no CONNACK from {host}:{port}")
    return client


# --- the compared sides ------------------------------------------------------------------
def bare_manual(host: str, port: int, data: list[bytes], window: int,
                nodelay: bool = False) -> float:
    """One thread drives paho's loop itself and keeps at most ``window`` unacknowledged."""
    client = connected_client(host, port, "bare-manual", window)
    if nodelay:
        set_nodelay(client)
    acked = 0

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        nonlocal acked
        acked += 1

    client.on_publish = on_publish
    props = publish_properties(Format.CBOR.content_type)
    sent = 0
    t0 = time.perf_counter()
    while acked < len(data):
        while sent < len(data) and sent - acked < window:
            client.publish(TOPIC, data[sent], qos=1, properties=props)
            sent += 1
        client.loop(0.0 if sent - acked < window else 0.02)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    return elapsed


def bare_threaded(host: str, port: int, data: list[bytes], window: int) -> float:
    """The textbook paho publisher: loop_start() runs the network thread, the caller
    publishes and blocks on a semaphore so at most ``window`` are unacknowledged."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bare-threaded",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    slots = threading.Semaphore(window)
    done = threading.Event()
    up = threading.Event()
    acked = 0

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        nonlocal acked
        acked += 1
        slots.release()
        if acked == len(data):
            done.set()

    client.on_publish = on_publish
    client.on_connect = lambda *a: up.set()
    client.connect(host, port)
    client.loop_start()
    if not up.wait(10):
        raise RuntimeError("bare publisher: no CONNACK")
    props = publish_properties(Format.CBOR.content_type)
    t0 = time.perf_counter()
    for p in data:
        slots.acquire()
        client.publish(TOPIC, p, qos=1, properties=props)
    done.wait(300)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def naive(host: str, port: int, data: list[bytes]) -> float:
    """Publish one event at QoS 1 and wait for its PUBACK before the next (window 1)."""
    client = connected_client(host, port, "naive", 1)
    props = publish_properties(Format.CBOR.content_type)
    t0 = time.perf_counter()
    for p in data:
        info = client.publish(TOPIC, p, qos=1, properties=props)
        while not info.is_published():
            client.loop(1.0)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    return elapsed


def spooled(host: str, port: int, data: list[bytes], window: int | None, workdir: Path) -> float:
    """Fill a spool (untimed), then time the uplink until the spool is empty.

    ``window=None`` is the configuration a site gets: only the broker's address is set."""
    path = workdir / f"spool-{time.monotonic_ns()}.sqlite3"
    spool = Spool(path, sync="full")
    ctype = Format.CBOR.content_type
    for start in range(0, len(data), 5000):
        spool.append_many([(lambda seq, p=p: Draft(TOPIC, p, ctype, 1, 0))
                           for p in data[start:start + 5000]])
    mqtt_cfg: dict[str, object] = {"host": host, "port": port}
    if window is not None:
        mqtt_cfg["window"] = window
    cfg = parse_config({"device": {"id": "gw-bench"}, "mqtt": mqtt_cfg}).mqtt
    uplink = Uplink(cfg, Topics("gw-bench"), spool, state_payload=lambda online: b"\xa0",
                    content_type=ctype)
    t0 = time.perf_counter()
    uplink.start()
    while spool.stats().depth > 0:
        time.sleep(0.002)  # polling the drain's end; resolution well below the drain time
    elapsed = time.perf_counter() - t0
    uplink.stop()
    spool.close()
    return elapsed


# --- reporting -----------------------------------------------------------------------------
def machine() -> str:
    return (f"{platform.machine()}, {cpu_name()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f} at the end")


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def fmt_rate(values: list[float]) -> str:
    med, lo, hi = spread(values)
    return f"{med:,.0f} | {lo:,.0f} | {hi:,.0f}"


# --- loopback -------------------------------------------------------------------------------
def cmd_loopback(args: argparse.Namespace, out: list[str]) -> bool:
    window = args.window or DEFAULT_WINDOW
    data = payloads(args.events)
    names = ["bare paho (manual loop)", "bare paho (loop_start)", "edgepost uplink (spool)"]
    rates: dict[str, list[float]] = {n: [] for n in names}
    with LocalMosquitto(extra_conf=BROKER_CONF) as broker, tempfile.TemporaryDirectory() as tmp:
        port = broker.port
        sides: list[Callable[[], float]] = [
            lambda: bare_manual("127.0.0.1", port, data, window),
            lambda: bare_threaded("127.0.0.1", port, data, window),
            lambda: spooled("127.0.0.1", port, data, args.window, Path(tmp)),
        ]
        for r in range(args.repeats):
            # Interleaved, and the order rotates, so drift on a shared machine hits all alike.
            for i in range(len(names)):
                k = (i + r) % len(names)
                rates[names[k]].append(args.events / sides[k]())
            print(f"loopback repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()), flush=True)
    best_bare = max(statistics.median(rates[names[0]]), statistics.median(rates[names[1]]))
    ratios = [u / max(a, b) for u, a, b in zip(rates[names[2]], rates[names[0]],
                                               rates[names[1]], strict=True)]
    ratio = statistics.median(rates[names[2]]) / best_bare
    out += [f"### Loopback drain: {args.events:,} events, QoS 1, window {window}, "
            f"{args.repeats} interleaved repeats", "",
            "| publisher | events/s median | min | max |", "|---|---|---|---|",
            *[f"| {n} | {fmt_rate(rates[n])} |" for n in names], "",
            f"**uplink / fastest bare: {ratio:.2f}** (per repeat {min(ratios):.2f}–"
            f"{max(ratios):.2f}; target >= 0.50)", ""]
    return ratio >= 0.5


# --- WAN ----------------------------------------------------------------------------------
def child(args: argparse.Namespace) -> int:
    """One side, run inside the namespace; prints {"events": n, "seconds": s}."""
    data = payloads(args.events)
    if args.side == "naive":
        secs = naive(args.host, args.port, data)
    elif args.side == "bare":
        secs = bare_manual(args.host, args.port, data, args.window, nodelay=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            window = None if args.side == "uplink" else args.window
            secs = spooled(args.host, args.port, data, window, Path(tmp))
    print(json.dumps({"events": len(data), "seconds": secs}))
    return 0


def cmd_wan(args: argparse.Namespace, out: list[str]) -> bool:
    from bench.netdelay import DelayRelay, NetNamespace

    one_way = args.rtt_ms / 2000
    n_fast = args.events_wan
    sides = [  # (label, side, events, window)
        ("naive publish-and-wait (window 1)", "naive", args.events_naive, 1),
        (f"edgepost uplink, defaults (window {DEFAULT_WINDOW})", "uplink", n_fast, 0),
        *[(f"edgepost uplink, window {w}" + (" (old default)" if w == 32 else ""),
           "uplink-window", n_fast, w) for w in args.compare_windows],
        (f"bare paho, window {DEFAULT_WINDOW}, TCP_NODELAY", "bare", n_fast, DEFAULT_WINDOW),
    ]
    rates: dict[str, list[float]] = {s[0]: [] for s in sides}
    with LocalMosquitto(extra_conf=BROKER_CONF) as broker, NetNamespace() as ns, \
            DelayRelay(ns.host_ip, ("127.0.0.1", broker.port), one_way) as relay:
        for r in range(args.repeats):
            for i in range(len(sides)):
                label, side, n, window = sides[(i + r) % len(sides)]
                cmd = ns.command([sys.executable, str(Path(__file__).resolve()), "child",
                                  "--side", side, "--host", ns.host_ip, "--port",
                                  str(relay.port), "--events", str(n), "--window",
                                  str(window)])
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"{side} failed: {done.stderr[-2000:]}")
                res = json.loads(done.stdout.strip().splitlines()[-1])
                rates[label].append(res["events"] / res["seconds"])
            print(f"wan repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()), flush=True)
    base = sides[0][0]
    naive_med = statistics.median(rates[base])
    gain = {k: statistics.median(v) / naive_med for k, v in rates.items()}
    uplink = sides[1][0]
    out += [f"### WAN: {args.rtt_ms:g} ms RTT (netns + veth + user-space delay relay), QoS 1, "
            f"{args.repeats} interleaved repeats", "",
            "| publisher | events | events/s median | min | max | x naive |",
            "|---|---|---|---|---|---|",
            *[f"| {label} | {n:,} | {fmt_rate(rates[label])} | {gain[label]:.1f} |"
              for label, _, n, _ in sides], "",
            f"**edgepost uplink with the defaults: {gain[uplink]:.1f}x naive** (target >= 50x)",
            ""]
    return gain[uplink] >= 50


# --- idle latency -------------------------------------------------------------------------
class Arrivals:
    """A subscriber that notes when each message reached it."""

    def __init__(self, port: int) -> None:
        self.count = 0
        self.last = 0.0
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="arrivals",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe("edgepost/v1/+/event/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("latency subscriber could not subscribe")

    def _on(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        with self._cond:
            self.count += 1
            self.last = now
            self._cond.notify_all()

    def wait(self, count: int) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= count, 5):
                raise RuntimeError("a message did not arrive within 5 s")
            return self.last


def cmd_latency(args: argparse.Namespace, out: list[str]) -> bool:
    from gateway.service.health import Counters
    from gateway.service.producer import EventProducer

    body = VehiclePassage(plate="京A12345", plate_conf=0.97, zone="lane-1")
    data = payloads(1)[0]
    samples: dict[str, list[float]] = {"uplink": [], "bare": []}
    p50s: dict[str, list[float]] = {"uplink": [], "bare": []}
    with LocalMosquitto(extra_conf=BROKER_CONF) as broker, tempfile.TemporaryDirectory() as tmp:
        arrivals = Arrivals(broker.port)
        spool = Spool(Path(tmp) / "spool.sqlite3", sync="full")
        cfg = parse_config({"device": {"id": "gw-bench"}, "mqtt": {"port": broker.port}}).mqtt
        uplink = Uplink(cfg, Topics("gw-bench"), spool, state_payload=lambda online: b"\xa0",
                        content_type=Format.CBOR.content_type)
        committed = [0.0]

        def on_stored() -> None:
            committed[0] = time.perf_counter()  # the spool transaction is committed here
            uplink.wake()

        producer = EventProducer(spool, Topics("gw-bench"), Format.CBOR, Counters(),
                                 on_stored=on_stored)
        bare = connected_client("127.0.0.1", broker.port, "bare-latency", DEFAULT_WINDOW)
        bare.loop_start()
        uplink.start()
        while not uplink.stats.connected:
            time.sleep(0.01)
        props = publish_properties(Format.CBOR.content_type)
        for r in range(args.repeats):
            for side in ("uplink", "bare") if r % 2 == 0 else ("bare", "uplink"):
                got: list[float] = []
                for _ in range(args.samples):
                    # Idle: the previous event is acknowledged and the link is quiet.
                    time.sleep(0.01 + (len(got) % 7) * 0.001)  # spread the phase vs any poll
                    expect = arrivals.count + 1
                    if side == "uplink":
                        producer.emit(body)
                        t0 = committed[0]
                    else:
                        t0 = time.perf_counter()
                        bare.publish(TOPIC, data, qos=1, properties=props)
                    got.append((arrivals.wait(expect) - t0) * 1000)
                samples[side] += got
                p50s[side].append(statistics.median(got))
            print(f"latency repeat {r + 1}/{args.repeats}: uplink p50 "
                  f"{p50s['uplink'][-1]:.2f} ms, bare p50 {p50s['bare'][-1]:.2f} ms", flush=True)
        uplink.stop()
        bare.loop_stop()
        spool.close()
        arrivals.client.loop_stop()

    def p99(v: list[float]) -> float:
        return sorted(v)[min(len(v) - 1, int(0.99 * len(v)))]

    med = statistics.median(p50s["uplink"])
    out += [f"### Idle latency: {args.samples} events per repeat, {args.repeats} interleaved "
            "repeats, loopback", "",
            "| path | p50 median ms | p50 min | p50 max | p99 over all |", "|---|---|---|---|---|",
            *[f"| {name} | {statistics.median(p50s[k]):.2f} | {min(p50s[k]):.2f} | "
              f"{max(p50s[k]):.2f} | {p99(samples[k]):.2f} |"
              for k, name in (("uplink", "spool commit -> subscriber (edgepost uplink)"),
                              ("bare", "paho publish -> subscriber (broker hop alone)"))], "",
            f"**commit -> on the wire p50 <= {med:.2f} ms** (target <= 2 ms; the figure "
            "includes the broker's hop to the subscriber)", ""]
    return med <= 2.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", nargs="?", default="all",
                    choices=["loopback", "wan", "latency", "all", "child"])
    ap.add_argument("--events", type=int, default=100_000, help="loopback events per run")
    ap.add_argument("--window", type=int, default=None,
                    help=f"window for loopback (default: the config default, {DEFAULT_WINDOW})")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtt-ms", type=float, default=50.0)
    ap.add_argument("--events-wan", type=int, default=5000)
    ap.add_argument("--events-naive", type=int, default=200)
    ap.add_argument("--compare-windows", type=lambda v: [int(w) for w in v.split(",") if w],
                    default=[32], help="wan: also run the uplink at these windows (e.g. 32,64)")
    ap.add_argument("--samples", type=int, default=100, help="latency samples per repeat")
    ap.add_argument("--write", action="store_true", help="write bench/results/uplink.md")
    # child mode (run inside the namespace by `wan`)
    ap.add_argument("--side", default="uplink")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    args = ap.parse_args()
    if args.what == "child":
        if args.window == 0:
            args.window = None
        return child(args)
    out: list[str] = []
    ok = True
    runs = ["loopback", "wan", "latency"] if args.what == "all" else [args.what]
    for what in runs:
        ok &= {"loopback": cmd_loopback, "wan": cmd_wan, "latency": cmd_latency}[what](args, out)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = ["# Uplink benchmark", "",
            f"- date: {now}; command: `.venv/bin/python bench/bench_uplink.py {args.what}`",
            f"- machine: {machine()}", "- broker: private mosquitto, `set_tcp_nodelay true`",
            ""]
    text = "\n".join(head + out)
    print("\n" + text)
    if args.write:
        name = "uplink.md" if args.what == "all" else f"uplink-{args.what}.md"
        (REPO / "bench/results" / name).write_text(text + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
