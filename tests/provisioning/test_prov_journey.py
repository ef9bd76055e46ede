"""The field journey, timed: one command from a blank simulated board to a reporting node.

Everything is real: the site's generated broker configuration (TLS, client certificates,
ACL) on a private mosquitto, the gateway provisioned by ``provision gateway`` and running as
``edgepost gateway run`` on the files "installed" in its own folder (not the site's copy, so
the key can only arrive over the key channel), the real MicroPython VM as the blank board,
and ``edgepost provision node`` as a subprocess. When the command asks for the board's reset
button, the test plays the technician: the node boots from the node.json read back from the
board's flash, on the real firmware, wired to the gateway's node link (a pty).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import tomli_w

from gateway.broker import LocalMosquitto
from gateway.sensors.keys import NodeKeyRegistry
from hil_tests.rig.model import NodeSpec
from hil_tests.rig.node_sim import SimulatedNode
from hil_tests.rig.pty_link import PtyLink
from provisioning.raw_repl import RawRepl
from provisioning.sim.board import SimulatedBoard
from tests.conftest import Collector
from tests.provisioning.brokerkit import broker_on_generated_conf
from tests.provisioning.conftest import run_provision

GW = "gw-journey"
NODE = 42
NAME = "shore-42"
JOURNEY_BOUND_S = 120.0  # the bound: blank board to a reporting node


def _lines(stream: IO[str], out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line.rstrip("\n"))
    out.put(None)


class Field:
    """Site, broker, installed gateway and its node link; stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.site = tmp / "site"
        self.pi = tmp / "pi"  # the gateway's /etc/edgepost and /var/lib/edgepost
        self.link = PtyLink(115200)
        self.broker: LocalMosquitto | None = None
        self.gateway: subprocess.Popen[bytes] | None = None
        self.node: SimulatedNode | None = None
        self.watcher: Collector | None = None

    def setup(self) -> None:
        assert run_provision(self.site, "ca", "init") == 0
        self.broker = broker_on_generated_conf(self.site, self.tmp / "broker", log_all=False)
        port = self.broker.port
        assert run_provision(self.site, "gateway", GW, "--broker-host", "127.0.0.1", "--broker-port",
                             str(port), "--etc-dir", str(self.pi), "--node-link", self.link.gateway_port) == 0
        assert run_provision(self.site, "subscriber", "tech", "--operator") == 0
        assert run_provision(self.site, "subscriber", "watcher") == 0
        self.broker.start()  # after the accounts: it reads the ACL they wrote
        # "install.sh": the bundle's files in the gateway's own folder, state beside them.
        bundle = self.site / "gateways" / GW
        self.pi.mkdir()
        for f in bundle.iterdir():
            if f.is_file():
                shutil.copy(f, self.pi / f.name)
        cfg = tomllib.loads((self.pi / "edgepost.toml").read_text())
        cfg["spool"]["path"] = str(self.pi / "spool.sqlite3")
        cfg["web"]["secret_file"] = str(self.pi / "web-secret.key")
        for link in cfg["sensors"]["node_links"]:
            link["replay_state_file"] = str(self.pi / "replay.json")
        (self.pi / "edgepost.toml").write_text(tomli_w.dumps(cfg))
        sub = self.site / "subscribers" / "watcher"
        self.watcher = Collector(port, host="127.0.0.1", device=GW, ca_file=self.site / "ca" / "ca.pem",
                                 certfile=sub / "watcher.pem", keyfile=sub / "watcher.key",
                                 include_status=True).start()

    def start_gateway(self) -> None:
        exe = Path(sys.executable).with_name("edgepost")
        log = (self.tmp / "gateway.log").open("wb")
        self.gateway = subprocess.Popen([str(exe), "gateway", "run", "-c", str(self.pi / "edgepost.toml")],
                                        stdout=log, stderr=subprocess.STDOUT)
        assert self.watcher is not None
        online = self.watcher.wait_for(lambda c: any(
            m.kind == "state" and isinstance(m.document, dict) and m.document.get("online")
            for m in c.messages), 30)
        assert online, "gateway not online:\n" + (self.tmp / "gateway.log").read_text()[-3000:]

    def stop_gateway(self) -> None:
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.terminate()
            try:
                self.gateway.wait(20)  # systemd gives it 30 s (TimeoutStopSec) before SIGKILL
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait(5)
                raise AssertionError("gateway did not stop within 20 s of SIGTERM:\n"
                                     + (self.tmp / "gateway.log").read_text()[-4000:]) from None
        self.gateway = None

    def boot_node(self, board_port: str) -> None:
        """The reset button: the node boots on what the board's flash holds (its node.json)."""
        with RawRepl(board_port) as repl:
            repl.enter()
            node_json = repl.exec("print(open('/node.json').read())").strip()
        cfg = json.loads(node_json)
        spec = NodeSpec.model_validate({
            "name": NAME, "node_id": cfg["node_id"], "board": "esp32", "kind": "simulated",
            "sensors": cfg["sensors"], "time_scale": 0.1, "link": {"kind": "pty", "baudrate": 115200},
            "console": {"kind": "vm"}, "power": {"kind": "simulated"},
            "stimulus": {"kind": "file", "adc_mv": {"35": 1900}}})
        self.node = SimulatedNode(spec, self.link, self.tmp / "node")
        (self.node.flash / "node.json").write_text(node_json)
        self.node.power_on()

    def close(self) -> None:
        if self.node is not None:
            self.node.close()
        self.stop_gateway()
        if self.watcher is not None:
            self.watcher.stop()
        if self.broker is not None:
            self.broker.stop()
        self.link.close()


@pytest.fixture
def field(tmp_path: Path) -> Iterator[Field]:
    f = Field(tmp_path)
    try:
        f.setup()
        yield f
    finally:
        f.close()


def provision(field: Field, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("edgepost")
    return subprocess.Popen([str(exe), "provision", "--site", str(field.site), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


@pytest.mark.slow
def test_blank_board_to_reporting_node_in_one_command(field: Field) -> None:
    field.start_gateway()
    installed = field.pi / "node-keys.toml"
    assert NodeKeyRegistry.from_file(installed).key_for(NODE) is None
    with SimulatedBoard() as board:
        t0 = time.monotonic()
        proc = provision(field, "node", str(NODE), "--port", board.port, "--board", "esp32",
                         "--name", NAME, "--sensors", "battery", "--gateway", GW, "--no-compile",
                         "--wait-frame", "60")
        lines: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        out: list[str] = []
        deadline = time.monotonic() + JOURNEY_BOUND_S
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            out.append(line)
            if "press the board's reset button now" in line:
                # The key is on the gateway before the node says a word.
                assert NodeKeyRegistry.from_file(installed).key_for(NODE) is not None
                field.boot_node(board.port)
        rc = proc.wait(30)
        journey_s = time.monotonic() - t0
    text = "\n".join(out)
    assert rc == 0, text + "\n" + (proc.stderr.read() if proc.stderr else "")
    assert f"gateway {GW} applied it" in text and "is reporting: node_status" in text, text
    assert journey_s <= JOURNEY_BOUND_S, f"journey took {journey_s:.1f} s"
    print(f"blank board -> reporting node: {journey_s:.1f} s")
    # A subscriber of its own sees the node's STATUS through the gateway.
    assert field.watcher is not None
    assert field.watcher.wait_for(lambda c: any(
        m.kind == "event" and m.event is not None and m.event.type.name.lower() == "node_status"
        and getattr(m.event.body, "node", None) == NAME for m in c.messages), 10)
    # The key never travelled in clear: the installed key equals the enrolled one.
    site_key = NodeKeyRegistry.from_file(field.site / "gateways" / GW / "node-keys.toml").key_for(NODE)
    assert NodeKeyRegistry.from_file(installed).key_for(NODE) == site_key

    # Revoke: the revocation takes the same channel and the installed file loses the key.
    proc = provision(field, "node-revoke", str(NODE))
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout + stderr
    assert f"gateway {GW} rejects node {NODE}" in stdout
    assert NodeKeyRegistry.from_file(installed).key_for(NODE) is None

    # Gateway gone: the command says so instead of hanging or claiming success.
    field.stop_gateway()
    with SimulatedBoard() as board:
        proc = provision(field, "node", "43", "--port", board.port, "--board", "esp32", "--sensors",
                         "battery", "--gateway", GW, "--no-compile", "--wait-frame", "5")
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert f"the key did not reach gateway {GW}" in stderr and "offline" in stderr, stderr
    assert "Traceback" not in stderr
