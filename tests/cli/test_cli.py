"""The ``edgepost`` command as a technician uses it: help, config checks, clear failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import LocalMosquitto, free_port
from tests.conftest import REPO

HELP_PATHS = [[], ["gateway"], ["gateway", "run"], ["gateway", "check-config"], ["events"],
              ["events", "tail"], ["models"], ["models", "pull"], ["models", "list"],
              ["provision"], ["provision", "ca"], ["provision", "gateway"], ["provision", "node"],
              ["provision", "broker"], ["provision", "bundle"], ["hil"], ["hil", "run"],
              ["plates"], ["plates", "compile-watchlist"], ["plates", "keygen"], ["plates", "read"],
              ["demo"], ["completion"]]


def edgepost(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "edgepost")
def test_help_on_every_level(path: list[str]) -> None:
    res = edgepost(*path, "--help")
    assert res.returncode == 0
    assert "usage: edgepost" in res.stdout and len(res.stdout) > 200


def test_group_without_command_prints_its_help() -> None:
    res = edgepost("gateway")
    assert res.returncode == 2 and "check-config" in res.stdout


def test_check_config_valid_prints_effective(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('[device]\nid = "cp-north-1"\n[mqtt]\nhost = "broker.site"\npassword = "s3cret"\n'
                   'username = "cp-north-1"\nallow_plaintext_password = true\n')
    res = edgepost("gateway", "check-config", str(cfg))
    assert res.returncode == 0, res.stderr
    assert 'id = "cp-north-1"' in res.stdout and 'host = "broker.site"' in res.stdout
    assert "window = 128" in res.stdout  # defaults filled in
    assert "s3cret" not in res.stdout and "********" in res.stdout


def test_check_config_unknown_key_fails_with_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text("[spool]\nmax_event = 5\n")
    res = edgepost("gateway", "check-config", str(cfg))
    assert res.returncode == 2
    assert "spool.max_event: unknown key; did you mean 'spool.max_events'?" in res.stderr
    assert "Traceback" not in res.stderr


def test_run_with_missing_certificate_exits_nonzero(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f'[mqtt]\nport = 8883\n[mqtt.tls]\nca_file = "{tmp_path}/ca.pem"\n')
    res = edgepost("gateway", "run", "-c", str(cfg), "--duration", "1")
    assert res.returncode == 2
    assert f"mqtt.tls.ca_file: file not found: {tmp_path}/ca.pem" in res.stderr
    assert res.stderr.count("file not found") == 1 and "Traceback" not in res.stderr


def test_unreachable_broker_is_one_message_and_the_gateway_keeps_spooling(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f'[mqtt]\nport = {port}\nreconnect_min_s = 0.1\nreconnect_max_s = 0.2\n'
                   f'[spool]\npath = "{tmp_path}/spool.sqlite3"\n[demo]\nenabled = true\n'
                   'interval_s = 0.1\n')
    res = edgepost("gateway", "run", "-c", str(cfg), "--duration", "3")
    assert res.returncode == 0, res.stderr
    # Dozens of attempts in 3 s, but the operator reads one line about it.
    assert res.stderr.count("unreachable") == 1, res.stderr
    assert f"broker 127.0.0.1:{port} unreachable" in res.stderr
    import sqlite3

    depth = sqlite3.connect(tmp_path / "spool.sqlite3").execute(
        "SELECT COUNT(*) FROM spool").fetchone()[0]
    assert depth >= 10  # demo events were produced and kept for later


def test_unwritable_spool_is_a_clear_startup_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f'[spool]\npath = "{blocker}/spool.sqlite3"\n')
    res = edgepost("gateway", "run", "-c", str(cfg), "--duration", "1")
    assert res.returncode == 1 and "cannot start" in res.stderr and "Traceback" not in res.stderr


def _tail_and_publisher(port: int, *args: str) -> tuple[subprocess.Popen[str], Any]:
    """``events tail`` subscribed on ``port`` (``args`` added), and a started MQTT publisher."""
    import paho.mqtt.client as mqtt

    tail = subprocess.Popen(
        [sys.executable, "-m", "gateway", "events", "tail", "-p", str(port), "-W", "20", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert tail.stderr is not None
    assert tail.stderr.readline().startswith("# subscribed to edgepost/v1/+/event/#")
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return tail, pub


def test_events_tail_never_passes_a_devices_control_characters_to_the_terminal() -> None:
    # found by probing (session 41): a fault message with ESC sequences and a line break was
    # printed raw, so a compromised device could clear the operator's screen or forge a line

    from gateway.events import DeviceFault, Event
    from gateway.events.codec import encode
    from gateway.events.types import Severity

    message = "disk \x1b[2J\x1b]0;owned\x07ok\r\n2026-01-01T00:00:00.000Z gw-y #9 zone_intrusion \u202e"
    with LocalMosquitto() as broker:
        tail, pub = _tail_and_publisher(broker.port, "-n", "1")
        fault = Event.new(DeviceFault(component="disk", code="full", severity=Severity.ERROR,
                                      message=message)).with_seq(1)
        pub.publish("edgepost/v1/gw-x/event/device_fault", encode(fault), qos=1).wait_for_publish()
        out, err = tail.communicate(timeout=30)
        pub.loop_stop()
    (line,) = [ln for ln in out.splitlines() if "device_fault" in ln]
    assert out.count("\n") == 1 and "zone_intrusion" not in out.replace(line, ""), out + err
    assert not any(not c.isprintable() for c in line), repr(line)
    assert "disk \\x1b[2J\\x1b]0;owned\\x07ok\\r\\n2026" in line and "\\u202e" in line, line


def test_render_keeps_printable_text_and_escapes_the_rest() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from gateway.events.render import visible

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=30))
    def check(text: str) -> None:
        shown = visible(text)
        assert shown.isprintable()
        if text.isprintable():
            assert shown == text  # plates such as 京A12345 are never touched

    check()


def test_events_tail_prints_decoded_deduplicated_events(tmp_path: Path) -> None:

    from gateway.events import Event, Format, VehiclePassage, encode

    with LocalMosquitto() as broker:
        tail, pub = _tail_and_publisher(broker.port, "-n", "2")
        first = encode(Event.new(VehiclePassage(plate="京A12345", plate_conf=0.9)).with_seq(1))
        second = Event.new(VehiclePassage(plate="沪B77777", plate_conf=0.8)).with_seq(2)
        for payload in (first, first, encode(second, Format.JSON)):  # a duplicate in between
            pub.publish("edgepost/v1/gw-x/event/vehicle_passage", payload, qos=1).wait_for_publish()
        out, err = tail.communicate(timeout=30)
        pub.loop_stop()
        lines = [ln for ln in out.splitlines() if "vehicle_passage" in ln]
        assert len(lines) == 2, out + err
        assert "gw-x #1 vehicle_passage plate=京A12345" in lines[0]
        assert "gw-x #2 vehicle_passage plate=沪B77777" in lines[1]

        # --json: one JSON document per event, with the device added.
        tail = subprocess.Popen(
            [sys.executable, "-m", "gateway", "events", "tail", "-p", str(broker.port), "-n", "1",
             "-W", "20", "--json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert tail.stderr is not None and tail.stderr.readline().startswith("# subscribed")
        pub.loop_start()
        pub.publish("edgepost/v1/gw-x/event/vehicle_passage", first, qos=1).wait_for_publish()
        out, err = tail.communicate(timeout=30)
        pub.loop_stop()
        import json

        doc = json.loads(out.strip().splitlines()[-1])
        assert doc["device"] == "gw-x" and doc["seq"] == 1
        assert doc["body"] == {"plate": "京A12345", "plate_conf": 0.9}


def test_synthetic_demo_shows_state_health_and_events() -> None:
    res = edgepost("demo", "--synthetic", "--duration", "4", "--interval", "0.5", timeout=60)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert '"online": true' in out and '"online": false' in out
    assert " health " in out and "vehicle_passage plate=" in out
    assert "event(s) acknowledged by the broker" in out


def test_demo_runs_the_sample_videos_and_writes_summaries(tmp_path: Path) -> None:
    from tests.vision.conftest import shared_dir

    res = edgepost("demo", "--mirror", str(shared_dir()), "--out", str(tmp_path), timeout=240)
    assert res.returncode == 0, res.stderr
    # 6 people (enter + exit each) in the hall video; 4 cars cross the gate line.
    assert "received {'object': 20, 'line_crossing': 4}" in res.stdout, res.stdout[-3000:]
    assert res.stdout.count("line_crossing line=gate direction=inbound") == 2
    assert res.stdout.count("line_crossing line=gate direction=outbound") == 2
    for camera in ("hall", "lane"):
        image = (tmp_path / f"summary-{camera}.jpg").read_bytes()
        assert image[:2] == b"\xff\xd8" and len(image) > 10_000


def test_watchlist_compiles_to_tokens_that_match_without_clear_text(tmp_path: Path) -> None:
    from gateway.plates.watchlist import WatchList

    key = tmp_path / "watch.key"
    key.write_bytes(b"site-watch-key-0123456789")
    clear = tmp_path / "list.csv"
    clear.write_text("pattern,kind,label,priority\n京A12345,exact,case-17,3\n沪B*,wildcard,case-18,2\n"
                     "粤C54321,fuzzy,case-19,2\n", encoding="utf-8")
    out = tmp_path / "compiled.json"
    res = edgepost("plates", "compile-watchlist", str(clear), "--key", str(key), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "compiled 3 entries" in res.stdout and "京A12345" not in res.stdout
    text = out.read_text(encoding="utf-8")
    for plate in ("京A12345", "沪B", "粤C54321"):
        assert plate not in text  # the gateway never holds the list in clear
    wl = WatchList.load(out, key.read_bytes())
    assert [m.label for m in wl.match("京A12345")] == ["case-17"]
    assert [m.label for m in wl.match("沪B99999")] == ["case-18"]
    assert [m.label for m in wl.match("粤C54320")] == ["case-19"]  # one character off
    assert wl.match("京A12346") == []
    bad = tmp_path / "bad.csv"
    bad.write_text("pattern,kind\n京A12345,sometimes\n", encoding="utf-8")
    res = edgepost("plates", "compile-watchlist", str(bad), "--key", str(key), "-o", str(out))
    assert res.returncode == 2 and "line 2" in res.stderr and "京A12345" not in res.stderr
