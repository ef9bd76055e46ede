"""Drain rate of the durable uplink against a bare paho publisher, same broker, same run.

    .venv/bin/python bench/bench_uplink.py [--events 100000] [--window 32] [--repeats 3]

Both publish the same pre-encoded CBOR events at QoS 1 to a private local mosquitto with the
same in-flight window. The bare publishers keep nothing on disk; the uplink reads from the
SQLite spool (synchronous=FULL) and deletes each event after its PUBACK. Reported: medians
over the repeats and the ratio uplink / fastest bare publisher.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import cpu_name
from gateway.broker import LocalMosquitto
from gateway.config import parse_config
from gateway.events import Event, Format, Location, Topics, VehiclePassage, encode
from gateway.events.types import Direction, PlateColour
from gateway.uplink import Draft, Spool, Uplink
from gateway.uplink.client import publish_properties

TOPIC = "edgepost/v1/gw-bench/event/vehicle_passage"


def payloads(n: int) -> list[bytes]:
    loc = Location(31.230416, 121.473701)
    return [encode(Event.new(VehiclePassage(plate=f"京A{i % 100000:05d}", plate_conf=0.97,
                                            plate_colour=PlateColour.BLUE,
                                            direction=Direction.INBOUND, zone="lane-1"),
                             loc=loc).with_seq(i + 1)) for i in range(n)]


def bare_manual(port: int, data: list[bytes], window: int) -> float:
    """One thread drives paho's loop itself and keeps at most ``window`` unacknowledged."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bare-manual",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    acked = 0

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        nonlocal acked
        acked += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    while not client.is_connected():
        client.loop(0.01)
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


def bare_threaded(port: int, data: list[bytes], window: int) -> float:
    """The textbook paho publisher: loop_start() runs the network thread, the caller
    publishes and blocks on a semaphore so at most ``window`` are unacknowledged."""
    import threading

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bare-threaded",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    slots = threading.Semaphore(window)
    done = threading.Event()
    acked = 0

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        nonlocal acked
        acked += 1
        slots.release()
        if acked == len(data):
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    while not client.is_connected():
        time.sleep(0.01)
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


def spooled(port: int, data: list[bytes], window: int, workdir: Path) -> float:
    """Fill a spool (untimed), then time the uplink until the spool is empty."""
    path = workdir / f"spool-{time.monotonic_ns()}.sqlite3"
    spool = Spool(path, sync="full")
    ctype = Format.CBOR.content_type
    for start in range(0, len(data), 5000):
        spool.append_many([(lambda seq, p=p: Draft(TOPIC, p, ctype, 1, 0))
                           for p in data[start:start + 5000]])
    cfg = parse_config({"device": {"id": "gw-bench"},
                        "mqtt": {"port": port, "window": window}}).mqtt
    uplink = Uplink(cfg, Topics("gw-bench"), spool, state_payload=lambda online: b"\xa0",
                    content_type=ctype)
    t0 = time.perf_counter()
    uplink.start()
    while spool.stats().depth > 0:
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    uplink.stop()
    spool.close()
    return elapsed


def machine() -> str:
    return (f"{platform.machine()}, {cpu_name()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = payloads(args.events)
    runs: dict[str, list[float]] = {"bare paho (manual loop)": [], "bare paho (loop_start)": [],
                                    "edgepost uplink (spool)": []}
    with LocalMosquitto() as broker, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            # Interleaved so drift on a shared machine hits all three alike.
            runs["bare paho (manual loop)"].append(bare_manual(broker.port, data, args.window))
            runs["bare paho (loop_start)"].append(bare_threaded(broker.port, data, args.window))
            runs["edgepost uplink (spool)"].append(spooled(broker.port, data, args.window,
                                                           Path(tmp)))
            print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{k} {args.events / v[-1]:,.0f}/s" for k, v in runs.items()), flush=True)
    rates = {k: args.events / statistics.median(v) for k, v in runs.items()}
    best_bare = max(rates["bare paho (manual loop)"], rates["bare paho (loop_start)"])
    ratio = rates["edgepost uplink (spool)"] / best_bare
    print(f"\n{args.events:,} events, QoS 1, window {args.window}, medians of {args.repeats}:")
    for name, rate in rates.items():
        print(f"  {name:26s} {rate:10,.0f} events/s")
    print(f"  uplink / fastest bare     {ratio:10.2f}  (target >= 0.50)")
    print(f"  machine: {machine()}")
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
