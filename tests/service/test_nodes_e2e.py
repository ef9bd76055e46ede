"""Nodes in the field, end to end: the real firmware on the MicroPython VM behind a pty (the HIL
rig's simulated node: its supply, its inputs, its card reader), the running gateway service,
and a real mosquitto. Intervals are short, and the node's deep sleep runs faster than real
time (``time_scale``), so the registry's interval is given in real seconds."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import LocalMosquitto
from gateway.events import AlarmKind, AlarmState, BootCause, Location
from gateway.sensors.cards import card_hash
from gateway.service.gateway import GatewayService
from hil_tests.rig.model import NodeSpec
from hil_tests.rig.node_sim import SimulatedNode
from hil_tests.rig.pty_link import PtyLink
from provisioning.node_registry import set_node_key
from tests.conftest import Collector, make_config

POSITION = (30.274085, 120.15507)
CARD_KEY = bytes(range(40, 72))
CARD_A = bytes.fromhex("0a00123456")
CARD_B = bytes.fromhex("0b0000beef")


def poll(cond: Callable[[], bool], timeout: float) -> bool:
    """Wait for an observable condition, with a deadline."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def em4100(card: bytes) -> bytes:
    """The ASCII frame an RDM6300-class reader sends for ``card``."""
    x = 0
    for b in card:
        x ^= b
    return b"\x02" + (card.hex().upper() + f"{x:02X}").encode() + b"\x03"


class Registry:
    """The gateway's node key file, written by provisioning's own writer (with interval and
    position); what ``SimulatedNode.provision`` calls as the rig's key file."""

    def __init__(self, path: Path, interval_s: float) -> None:
        self.path = path
        self.interval_s = interval_s

    def add(self, node_id: int, name: str, key: bytes,
            position: tuple[float, float] | None = None) -> None:
        set_node_key(self.path, node_id, key, name, interval_s=self.interval_s,
                     position=position)


def node_spec(**over: Any) -> NodeSpec:
    raw: dict[str, Any] = {
        "name": "shore-7", "node_id": 77, "board": "esp32", "kind": "simulated",
        "sensors": ["battery", "panic"], "wake_interval_s": 5, "report_interval_s": 10,
        "seq_block": 16, "time_scale": 0.1, "position": POSITION,
        "link": {"kind": "pty", "baudrate": 115200}, "console": {"kind": "vm"},
        "power": {"kind": "simulated"},
        "stimulus": {"kind": "file", "adc_mv": {"35": 1900, "36": 800}},
    }
    raw.update(over)
    return NodeSpec.model_validate(raw)


class Bench:
    """One node and one gateway, everything stopped by the fixture."""

    def __init__(self, tmp_path: Path, broker: LocalMosquitto) -> None:
        self.tmp_path = tmp_path
        self.broker = broker
        self.sub = Collector(broker.port).start()
        self.link: PtyLink | None = None
        self.node: SimulatedNode | None = None
        self.service: GatewayService | None = None

    def start(self, spec: NodeSpec, registry_interval_s: float,
              **sensors: Any) -> tuple[SimulatedNode, GatewayService]:
        self.link = PtyLink(spec.link.baudrate)
        self.node = SimulatedNode(spec, self.link, self.tmp_path / "node")
        keys = self.tmp_path / "nodes.toml"
        self.node.provision(Registry(keys, registry_interval_s))  # type: ignore[arg-type]
        cfg = make_config(self.tmp_path, self.broker.port, sensors={"node_links": [{
            "name": "radio", "key_file": str(keys),
            "serial": {"port": self.link.gateway_port, "baudrate": spec.link.baudrate}}],
            **sensors})
        self.service = GatewayService(cfg)
        self.service.start()
        assert self.service.sensors is not None
        assert self.service.sensors.readers.node_links[0].reader.wait_connected(5)
        return self.node, self.service

    def events(self, etype: str, **fields: Any) -> list[Any]:
        return [m.event for m in self.sub.events if m.event.type.name.lower() == etype
                and all(getattr(m.event.body, k) == v for k, v in fields.items())]

    def wait(self, etype: str, timeout: float, n: int = 1, **fields: Any) -> list[Any]:
        ok = self.sub.wait_for(lambda c: len(self.events(etype, **fields)) >= n, timeout)
        assert ok, (f"no {n} {etype} {fields} within {timeout} s; got "
                    f"{[(m.event.type.name, m.event.body) for m in self.sub.events][-8:]}\n"
                    + "\n".join(self.node.console.lines[-15:] if self.node else []))
        return self.events(etype, **fields)

    def close(self) -> None:
        if self.node is not None:
            self.node.close()
        if self.service is not None:
            self.service.stop()
        self.sub.stop()
        if self.link is not None:
            self.link.close()


@pytest.fixture
def bench(tmp_path: Path, broker: LocalMosquitto) -> Iterator[Bench]:
    b = Bench(tmp_path, broker)
    try:
        yield b
    finally:
        b.close()


def test_silent_node_one_fault_one_recovery_and_status_after_reboot(bench: Bench) -> None:
    # report_interval 10 node-s at time_scale 0.1: a frame about every second of real time.
    interval, n = 1.0, 3
    node, service = bench.start(node_spec(), registry_interval_s=interval,
                                liveness={"silent_after_intervals": n, "check_every_s": 0.1})
    node.power_on()
    (boot,) = bench.wait("node_status", 10)
    body = boot.body
    assert (body.boot_cause, body.fw_version, body.interval_s) == (BootCause.POWER_ON, "1.1", 10)
    assert body.config_fallback is False and body.node == "shore-7"
    assert boot.loc == Location(*POSITION), "node events carry the node's position"
    bench.wait("sensor_readings", 10)
    # Alive and reporting: no fault while it keeps sending.
    assert not bench.sub.wait_for(lambda c: bool(bench.events("device_fault")), 2 * interval * n)
    health = service.health.report(0)["sensors"]["nodes"]["shore-7"]
    assert health["silent"] is False and health["last_seen_s_ago"] < 2 * interval
    assert health["firmware"] == "1.1" and health["interval_s"] == interval

    node.power_off()
    t_off = time.monotonic()
    (silent,) = bench.wait("device_fault", 10, code="silent")
    took = time.monotonic() - t_off
    assert silent.body.component == "node/shore-7" and silent.body.cleared is None
    assert interval * (n - 1) <= took <= interval * n + 3, took
    assert silent.loc == Location(*POSITION)
    # Exactly one, however long the silence lasts.
    assert not bench.sub.wait_for(
        lambda c: len(bench.events("device_fault", code="silent")) > 1, 3 * interval * n)
    assert service.health.report(0)["sensors"]["nodes"]["shore-7"]["silent"] is True

    node.power_on()  # a reboot: the node says why and which firmware, at once
    t_on = time.monotonic()
    back = bench.wait("device_fault", 10, cleared=True)
    statuses = bench.wait("node_status", 10, n=2)
    assert len(back) == 1 and back[0].body.code == "silent"
    # The gap runs from the node's last frame (at most about an interval before the power
    # went off) to its first frame after power-on.
    gap_s = time.monotonic() - t_off + 2 * interval
    assert (t_on - t_off) * 1000 <= back[0].body.duration_ms <= gap_s * 1000
    assert statuses[-1].body.boot_cause == BootCause.POWER_ON
    assert statuses[-1].body.fw_version == "1.1"
    assert statuses[-1].body.node_seq > statuses[0].body.node_seq  # a new boot, not a replay
    faults = bench.events("device_fault")
    assert [f.body.cleared for f in faults] == [None, True], "one fault and one recovery"


def test_panic_from_deep_sleep_and_checkins(bench: Bench, tmp_path: Path,
                                            record_property: pytest.RecordProperty) -> None:
    key_file = tmp_path / "card.key"
    key_file.write_bytes(CARD_KEY)
    allow = tmp_path / "cards.txt"
    allow.write_text(f"# known patrol cards\n{card_hash(CARD_KEY, 'em4100', CARD_A).hex()}\n")
    # A long wake interval: between wakes the node is in deep sleep; only its pins wake it.
    spec = node_spec(wake_interval_s=600, report_interval_s=600, time_scale=0.05,
                     card_reader="em4100")
    node, service = bench.start(spec, registry_interval_s=60,
                                checkin={"key_file": str(key_file), "allow_list": str(allow)})
    node.power_on()
    bench.wait("node_status", 10)
    node.expect(r"^SLEEP ms=600000", 10)

    t0 = time.monotonic()
    node.set_input("panic", 1)
    (panic,) = bench.wait("sensor_alarm", 5, kind=AlarmKind.PANIC)
    latency = time.monotonic() - t0
    record_property("panic_latency_s", round(latency, 3))
    assert latency <= 5.0, f"panic took {latency:.2f} s"
    assert panic.body.state == AlarmState.ACTIVE and panic.loc == Location(*POSITION)
    # Sent three times with one seq: the gateway kept one, the replay window dropped two.
    def copies_in() -> dict[str, int]:
        return service.health.report(0)["sensors"]["nodelink:radio"]

    assert poll(lambda: copies_in().get("repeats") == 2, 5), copies_in()
    # The node's console and its radio are separate channels: the gateway can count the third
    # copy before the console reader has the line that logged it, so the lines are read forward
    # (each waited for), then no fourth copy is allowed.
    tx = r"^TX type=2 seq=(\d+)"
    sent = [int(node.expect(tx, 5).group(1)) for _ in range(3)]
    assert sent == [panic.body.node_seq] * 3, sent
    assert len(node.console.findall(tx)) == 3, node.console.findall(tx)
    node.set_input("panic", 0)

    node.feed_card(em4100(CARD_A))
    (known,) = bench.wait("checkin", 5)
    assert known.body.card_hash == card_hash(CARD_KEY, "em4100", CARD_A)
    assert known.body.known is True and known.loc == Location(*POSITION)
    node.feed_card(b"\x02garbage\x03" + em4100(CARD_B))  # reader noise, then an unknown card
    unknown = bench.wait("checkin", 5, n=2)[-1]
    assert unknown.body.known is False
    assert unknown.body.card_hash == card_hash(CARD_KEY, "em4100", CARD_B)
    # One panic event in all: no duplicate reached the subscriber.
    assert len(bench.events("sensor_alarm", kind=AlarmKind.PANIC)) == 1
    assert not re.search(CARD_A.hex(), repr([m.event for m in bench.sub.events]), re.I)
