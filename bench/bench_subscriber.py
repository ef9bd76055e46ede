"""Subscriber decode rate: edgepost's EventSubscriber against a paho subscriber that only counts.

    .venv/bin/python bench/bench_subscriber.py [--events 20000] [--repeats 7] [--write]
        [--diagnose] [--no-gc] [--baseline-tree PATH]

Both sides receive the same stream: each has a persistent MQTT 5 session on a private
mosquitto; one publisher sends the events once (QoS 1) while both are offline, so the broker
queues the same messages for both; then each side connects in turn (the order alternates per
repeat) and is timed from its CONNECT to its last message. The edgepost side decodes every
event strictly (CBOR -> validated Event), drops duplicates by id and tracks sequence gaps per
device, as a central consumer does; the paho side counts messages. Target: >= 80 %.

The stream mixes what a checkpoint sends: vehicle passages with plates, object enter/exit,
sensor readings (SenML) and alarms, from 20 gateways.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.broker import LocalMosquitto  # noqa: E402
from gateway.events import (  # noqa: E402
    Event,
    Format,
    Location,
    ObjectEvent,
    SenMLRecord,
    SensorAlarm,
    SensorReadings,
    Topics,
    VehiclePassage,
    encode,
)
from gateway.events.types import AlarmKind, AlarmState, Direction, Phase, PlateColour  # noqa: E402
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions  # noqa: E402
from gateway.uplink.client import publish_properties  # noqa: E402

DEVICES = 20


def stream(n: int) -> list[tuple[str, bytes]]:
    """(topic, CBOR payload) for ``n`` events, in per-device sequence order."""
    loc = Location(31.230416, 121.473701)
    seqs = [0] * DEVICES
    out = []
    for i in range(n):
        dev = i % DEVICES
        seqs[dev] += 1
        kind = i % 10
        if kind < 5:
            body = VehiclePassage(plate=f"京A{i % 100000:05d}", plate_conf=0.97,
                                  char_conf=(0.99, 0.98, 0.97, 0.99, 0.96, 0.99, 0.95),
                                  plate_colour=PlateColour.BLUE, direction=Direction.INBOUND,
                                  zone="lane-1", track_id=i, camera="cam-1", conf=0.91)
        elif kind < 7:
            body = ObjectEvent(phase=Phase.ENTER, cls="person", track_id=i, conf=0.8,
                               camera="cam-2", zone="shoreline")
        elif kind < 9:
            body = SensorReadings(node="node-07", node_seq=i, records=(
                SenMLRecord(n="level", u="m", v=i / 1000), SenMLRecord(n="temp", u="Cel", v=21.5)))
        else:
            body = SensorAlarm(node="node-03", kind=AlarmKind.PIR, state=AlarmState.ACTIVE,
                               node_seq=i)
        ev = Event.new(body, loc=loc).with_seq(seqs[dev])
        out.append((Topics(f"gw-{dev:02d}").event(ev.type), encode(ev, Format.CBOR)))
    return out


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(256)
    client.connect("127.0.0.1", port)
    client.loop_start()
    props = publish_properties(Format.CBOR.content_type)
    infos = [client.publish(t, p, qos=1, properties=props) for t, p in messages]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


class CountOnly:
    """The baseline: a paho MQTT 5 subscriber with a persistent session that counts."""

    def __init__(self, port: int, expect: int) -> None:
        self.port, self.expect = port, expect
        self.count = 0
        self.done = threading.Event()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-count",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on
        self.client.on_connect = lambda c, *a: c.subscribe("edgepost/v1/+/event/#", qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()

    def _on(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.count += 1
        if self.count == self.expect:
            self.done.set()

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Edgepost:
    """The measured side: gateway.subscriber.EventSubscriber, persistent session."""

    client_id = "bench-edgepost"

    def __init__(self, port: int, expect: int) -> None:
        self.expect = expect
        self.count = 0
        self.bad = 0
        self.done = threading.Event()
        self.sub = EventSubscriber(SubscriberOptions(port=port, client_id=self.client_id,
                                                     session_expiry_s=3600), self._on)
        self.ready = self.sub.subscribed

    def _on(self, msg: Received) -> None:
        if msg.kind != "event":
            self.bad += 1
            return
        self.count += 1
        if self.count == self.expect:
            self.done.set()

    def start(self) -> None:
        self.sub.start()

    def stop(self) -> None:
        self.sub.stop()


class ClientOnly(Edgepost):
    """Diagnosis: EventSubscriber's own paho client (its options, filters, logger switch), but
    counting instead of decoding: what the subscriber costs apart from the decode."""

    client_id = "bench-client-only"

    def __init__(self, port: int, expect: int) -> None:
        super().__init__(port, expect)
        self.sub.client.on_message = lambda client, userdata, msg: self._count()

    def _count(self) -> None:
        self.count += 1
        if self.count == self.expect:
            self.done.set()


class DecodeThread(Edgepost):
    """Diagnosis: paho's thread only queues each message; a second thread decodes them."""

    client_id = "bench-decode-thread"

    def __init__(self, port: int, expect: int) -> None:
        super().__init__(port, expect)
        self.queue: queue.SimpleQueue[mqtt.MQTTMessage | None] = queue.SimpleQueue()
        self.sub.client.on_message = lambda client, userdata, msg: self.queue.put(msg)
        self.worker = threading.Thread(target=self._work, daemon=True)
        self.worker.start()

    def _work(self) -> None:
        while (msg := self.queue.get()) is not None:
            self.sub._on_msg(self.sub.client, None, msg)

    def stop(self) -> None:
        super().stop()
        self.queue.put(None)


# The baseline side runs in its own interpreter with another checkout's code on its path
# (its own gateway package), and times itself exactly as the in-process sides are timed.
BASELINE_SIDE = """
import sys, threading, time
tree, port, expect, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, tree)
from gateway.subscriber import EventSubscriber, SubscriberOptions
count, bad, done = 0, 0, threading.Event()
def on(msg):
    global count, bad
    if msg.kind != "event":
        bad += 1
        return
    count += 1
    if count == expect:
        done.set()
sub = EventSubscriber(SubscriberOptions(port=port, client_id="bench-baseline-tree",
                                        session_expiry_s=3600), on)
if mode == "session":
    sub.start()
    ok = sub.subscribed.wait(10)
    sub.stop()
    sys.exit(0 if ok else 1)
t0 = time.perf_counter()
sub.start()
if not done.wait(300):
    sys.exit(f"only {count} of {expect} arrived")
elapsed = time.perf_counter() - t0
sub.stop()
print(expect / elapsed, bad)
"""


class BaselineTree:
    """EventSubscriber with the code of another checkout (e.g. a ``git worktree`` of the
    previous commit), in a subprocess: old and new decoders interleaved in one run."""

    tree: Path

    def __init__(self, port: int, expect: int) -> None:
        self.port, self.expect = port, expect
        self.rate = 0.0
        self.bad = 0

    def _run(self, mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", BASELINE_SIDE, str(self.tree), str(self.port),
                               str(self.expect), mode], capture_output=True, text=True,
                              cwd=self.tree, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"baseline tree side failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def create_session(self) -> None:
        self._run("session")

    def drain(self) -> float:
        rate, bad = self._run("drain").split()
        self.bad = int(bad)
        return float(rate)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=7,
                    help="rounds; the ratio is taken from the medians (single rounds vary by "
                         "+-0.04 on a 2-core host)")
    ap.add_argument("--write", action="store_true", help="write bench/results/subscriber.md")
    ap.add_argument("--diagnose", action="store_true",
                    help="also: EventSubscriber's client counting only, and decoding on a second thread")
    ap.add_argument("--no-gc", action="store_true", help="run with the garbage collector off")
    ap.add_argument("--baseline-tree", type=Path, default=None,
                    help="also EventSubscriber with the code of this checkout (e.g. a `git "
                         "worktree` of an older commit), interleaved with the others")
    args = ap.parse_args()
    if args.no_gc:
        gc.disable()
    messages = stream(args.events)
    names: dict[str, type[CountOnly] | type[Edgepost] | type[BaselineTree]] = {
        "paho, count only": CountOnly, "edgepost EventSubscriber": Edgepost}
    if args.baseline_tree is not None:
        BaselineTree.tree = args.baseline_tree.resolve()
        names[f"EventSubscriber, code of {args.baseline_tree.name}"] = BaselineTree
    if args.diagnose:
        names |= {"EventSubscriber's client, counting only": ClientOnly,
                  "EventSubscriber, decode on a second thread": DecodeThread}
    rates: dict[str, list[float]] = {n: [] for n in names}
    with LocalMosquitto(extra_conf="set_tcp_nodelay true") as broker:
        # Create both persistent sessions (subscribed), then take them offline.
        for cls in names.values():
            side = cls(broker.port, args.events)
            if isinstance(side, BaselineTree):
                side.create_session()
                continue
            side.start()
            if not side.ready.wait(10):
                raise RuntimeError(f"{cls.__name__} could not subscribe")
            side.stop()
        for r in range(args.repeats):
            publish_all(broker.port, messages)  # queued once, for both sessions
            order = list(names) if r % 2 == 0 else list(reversed(names))
            for name in order:
                side = names[name](broker.port, args.events)
                if isinstance(side, BaselineTree):
                    rates[name].append(side.drain())
                    if side.bad:
                        raise RuntimeError(f"{side.bad} events were not decoded")
                    continue
                t0 = time.perf_counter()
                side.start()
                if not side.done.wait(300):
                    raise RuntimeError(f"{name}: only {side.count} of {args.events} arrived")
                rates[name].append(args.events / (time.perf_counter() - t0))
                if isinstance(side, Edgepost) and side.bad:
                    raise RuntimeError(f"{side.bad} events were not decoded")
                side.stop()
            print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()), flush=True)
    base, ours = list(names)[:2]
    ratios = [o / b for o, b in zip(rates[ours], rates[base], strict=True)]
    ratio = statistics.median(rates[ours]) / statistics.median(rates[base])
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Subscriber benchmark", "",
        f"- date: {now}; command: `.venv/bin/python bench/bench_subscriber.py "
        f"{' '.join(sys.argv[1:])}`",
        f"- machine: {platform.machine()}, {cpu_name()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f} at the end",
        f"- stream: {args.events:,} CBOR events from {DEVICES} gateways, queued by mosquitto "
        f"for {len(names)} persistent sessions, drained one after the other (order alternating)",
        "",
        "| subscriber | events/s median | min | max |", "|---|---|---|---|",
        *[f"| {n} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} |"
          for n, v in rates.items()], "",
        f"**EventSubscriber / count-only paho: {ratio:.2f}** (per repeat {min(ratios):.2f}–"
        f"{max(ratios):.2f}; target >= 0.80)", ""]
    for name in list(names)[2:]:
        lines[-1:-1] = [f"{name} / count-only paho: "
                        f"{statistics.median(rates[name]) / statistics.median(rates[base]):.2f}", ""]
    text = "\n".join(lines)
    print("\n" + text)
    if args.write:
        (REPO / "bench/results/subscriber.md").write_text(text + "\n", encoding="utf-8")
    return 0 if ratio >= 0.8 else 1


if __name__ == "__main__":
    raise SystemExit(main())
