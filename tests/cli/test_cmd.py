"""``edgepost cmd`` against a real gateway process on a real mosquitto: every command the
gateway registers, decoded replies, a snapshot written to a file, exit statuses a script can
test, ``--json``, and a timeout that says why nothing came back. ``events tail --replies``
shows the replies it sees."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w

from gateway.broker import LocalMosquitto
from gateway.cli.cmd_cmd import COMMANDS, EXIT_NO_REPLY, EXIT_REFUSED, parse_arguments
from tests.conftest import REPO, Collector

VIDEO = REPO.parent / "shared" / "media" / "video" / "car-detection.mp4"
MODEL = REPO.parent / "shared" / "models" / "coco_ssd_mobilenet_v1"
GATEWAY = "gw-cmd"


def edgepost(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def cmd(broker: LocalMosquitto, *args: str) -> subprocess.CompletedProcess[str]:
    return edgepost("cmd", "-p", str(broker.port), *args)


@pytest.fixture
def gateway(broker: LocalMosquitto, tmp_path: Path,
            collect: Callable[..., Collector]) -> Iterator[subprocess.Popen[str]]:
    """A gateway with one camera (a looping video through the SSD detector), online."""
    if not VIDEO.is_file() or not (MODEL / "detect.tflite").is_file():
        pytest.skip("needs ../shared media and models")
    config = {
        "device": {"id": GATEWAY},
        "mqtt": {"port": broker.port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
        "spool": {"path": str(tmp_path / "spool.sqlite3")},
        "demo": {"enabled": False}, "health": {"interval_s": 0.5},
        "cameras": {"north": {
            "source": {"uri": str(VIDEO), "loop": True},
            "detector": {"model": str(MODEL / "detect.tflite"),
                         "labels": str(MODEL / "labelmap.txt")}}},
    }
    path = tmp_path / "gw.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    watch = collect(device=GATEWAY, include_status=True)
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "gateway", "run", "-c", str(path)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def has_frames(c: Collector) -> bool:
        return any(isinstance(m.document, dict)
                   and m.document.get("cameras", {}).get("north", {}).get("frames", 0) > 0
                   for m in c.of_kind("health"))

    try:
        assert watch.wait_for(has_frames, 60), "the gateway's camera produced no frame"
        yield proc
    finally:
        proc.terminate()
        proc.wait(20)


def test_arguments_read_json_values_and_plain_text() -> None:
    assert parse_arguments(["camera=north", "for_s=60", "level=null", "by=duty officer"]) == {
        "camera": "north", "for_s": 60, "level": None, "by": "duty officer"}


def registered_commands() -> set[str]:
    """Every command the gateway registers: ``router.register("name", ...)`` anywhere in
    gateway/, plus the router's own (``self.register`` in gateway/service/commands.py)."""
    found = set(re.findall(r"self\.register\(\s*\"([a-z_]+)\"",
                           (REPO / "gateway/service/commands.py").read_text(encoding="utf-8")))
    for path in (REPO / "gateway").rglob("*.py"):
        found |= set(re.findall(r"router\.register\(\s*\"([a-z_]+)\"",
                                path.read_text(encoding="utf-8")))
    return found


def test_every_registered_command_is_documented() -> None:
    names = registered_commands()
    assert {"ping", "health", "state", "snapshot"} <= names
    assert names - set(COMMANDS) == set(), "commands missing from edgepost cmd's catalogue"
    doc = (REPO / "docs/protocol.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"`cmd/{name}`" in doc, f"docs/protocol.md does not document cmd/{name}"
        assert (REPO / "docs/vectors/commands" / f"{name}.json").is_file(), f"no vector for {name}"


def test_commands_and_replies(broker: LocalMosquitto, gateway: subprocess.Popen[str],
                              tmp_path: Path) -> None:
    res = cmd(broker, GATEWAY, "ping")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{GATEWAY} ping: ok") and "pong: true" in res.stdout

    res = cmd(broker, "--json", GATEWAY, "health")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["reply"]["health"]["uplink"]["connected"] is True
    assert doc["reply"]["health"]["cameras"]["north"]["frames"] > 0

    res = cmd(broker, "--json", GATEWAY, "state")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["reply"]["online"] is True

    jpeg = tmp_path / "north.jpg"
    res = cmd(broker, GATEWAY, "snapshot", "camera=north", "-o", str(jpeg))
    assert res.returncode == 0, res.stderr
    data = jpeg.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and len(data) > 1000, "not a JPEG"
    assert f"jpeg: <{len(data)} bytes; written to {jpeg}>" in res.stdout

    # the live replies carry every field their vector documents
    for name in ("ping", "health", "state", "snapshot"):
        vector = json.loads((REPO / "docs/vectors/commands" / f"{name}.json").read_text())
        live = json.loads(cmd(broker, "--json", GATEWAY, name).stdout)["reply"]
        assert set(vector["reply"]) <= set(live), f"{name}: {set(vector['reply']) - set(live)}"

    res = cmd(broker, GATEWAY, "snapshot", "camera=south")
    assert res.returncode == EXIT_REFUSED
    assert "error: no camera 'south'" in res.stderr

    res = cmd(broker, GATEWAY, "reboot-now")
    assert res.returncode == EXIT_REFUSED and "unknown command 'reboot-now'" in res.stderr

    res = cmd(broker, GATEWAY, "snapshot", "camera")
    assert res.returncode == 2 and "write KEY=VALUE" in res.stderr


def test_replies_show_in_events_tail(broker: LocalMosquitto, gateway: subprocess.Popen[str]
                                     ) -> None:
    tail = subprocess.Popen([sys.executable, "-m", "gateway", "events", "tail", "-p",
                             str(broker.port), "-d", GATEWAY, "--replies", "-W", "30"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tail.stderr is not None and tail.stdout is not None
        assert "# subscribed" in tail.stderr.readline()
        assert cmd(broker, GATEWAY, "ping").returncode == 0
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and "reply" not in line:
            line = tail.stdout.readline()
        assert f"{GATEWAY} reply ping: ok" in line and "pong" in line, line
    finally:
        tail.terminate()
        tail.wait(10)


def test_timeouts_say_why(broker: LocalMosquitto, gateway: subprocess.Popen[str]) -> None:
    start = time.monotonic()
    res = cmd(broker, "-t", "1", "gw-nobody", "ping")
    assert res.returncode == EXIT_NO_REPLY
    assert "gateway gw-nobody has never connected to this broker" in res.stderr
    assert time.monotonic() - start < 15

    gateway.terminate()
    gateway.wait(20)
    res = cmd(broker, "-t", "1", GATEWAY, "ping")
    assert res.returncode == EXIT_NO_REPLY
    assert f"gateway {GATEWAY} is offline (since " in res.stderr
    assert "Traceback" not in res.stderr


def test_no_broker_is_exit_5(tmp_path: Path) -> None:
    from gateway.broker import free_port

    res = edgepost("cmd", "-p", str(free_port()), "--wait", "1", GATEWAY, "ping")
    assert res.returncode == 5 and "Traceback" not in res.stderr


def test_a_reply_never_passes_control_characters_to_the_terminal() -> None:
    from gateway.cli.cmd_cmd import render_reply

    doc = {"ok": False, "error": "no \x1b[2Jcamera\r\ngw-1 snapshot: ok", "detail": "\x9b31m\u202e"}
    shown = render_reply("gw-1", "snapshot", doc)
    assert shown.count("\n") == 1, shown  # our own line per key, no line of the device's
    assert all(line.isprintable() for line in shown.splitlines()), repr(shown)
    assert "\\x1b[2Jcamera\\r\\ngw-1 snapshot: ok" in shown
    one = render_reply("gw-1", "snapshot", doc, one_line=True)
    assert one.isprintable() and "\\x9b" in one
    assert render_reply("gw-1", "x", "\x1b[31m").isprintable()
