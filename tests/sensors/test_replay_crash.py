"""Replay after a crash (issue 10, item 4): a real ``edgepost gateway run`` process reads
node-link frames from a pty, is killed with SIGKILL, restarted, and the same recorded frames
are sent again. They must be refused; a newer frame must still pass."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tty
from pathlib import Path

from gateway.broker import LocalMosquitto
from gateway.sensors import frames
from tests.conftest import REPO, Collector

KEY = bytes(range(100, 132))
NODE = 321
LINK = "radio"


def _config(tmp_path: Path, port: int, tty_path: str) -> Path:
    keys = tmp_path / "nodes.toml"
    keys.write_text(f'[[nodes]]\nid = {NODE}\nname = "reservoir-east"\nkey = "{KEY.hex()}"\n')
    keys.chmod(0o600)
    # No replay_state_file: the gateway's default (beside the spool) is what is tested.
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(f"""
[mqtt]
port = {port}
reconnect_min_s = 0.1
reconnect_max_s = 0.5

[spool]
path = "{tmp_path / 'state' / 'spool.sqlite3'}"

[health]
interval_s = 0.5

[demo]
enabled = false

[[sensors.node_links]]
name = "{LINK}"
key_file = "{keys}"
[sensors.node_links.serial]
port = "{tty_path}"
baudrate = 115200
read_timeout_s = 0.05
""")
    return cfg


def _start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gateway", "gateway", "run", "-c", str(cfg)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _link_open_after(sub: Collector, n_before: int) -> bool:
    """A health report newer than ``n_before`` shows the node link's port open."""
    for msg in sub.of_kind("health")[n_before:]:
        doc = msg.document
        link = doc.get("sensors", {}).get(f"nodelink:{LINK}", {}) if isinstance(doc, dict) else {}
        if link.get("opened", 0) >= 1:
            return True
    return False


def _reading(seq: int) -> bytes:
    return frames.build_frame(frames.FrameType.READINGS, NODE, seq,
                              frames.readings_payload([(1, 250 + seq)]), KEY)


def test_frames_accepted_before_kill_9_are_refused_after_restart(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    log = tmp_path / "gateway.log"
    cfg = _config(tmp_path, broker.port, os.ttyname(slave))
    sub = Collector(broker.port, include_status=True).start()
    proc = _start(cfg, log)
    try:
        assert sub.wait_for(lambda c: _link_open_after(c, 0), 20), log.read_text()
        recorded = [_reading(seq) for seq in range(1, 6)]
        for frame in recorded:
            os.write(master, frame)
        assert sub.wait_for(lambda c: len(c.events) >= 5, 10), log.read_text()

        proc.send_signal(signal.SIGKILL)  # no clean stop: nothing gets a chance to save
        proc.wait()
        health_before = len(sub.of_kind("health"))
        proc = _start(cfg, log)
        assert sub.wait_for(lambda c: _link_open_after(c, health_before), 20), log.read_text()

        for frame in recorded:  # the attacker's recording, played back
            os.write(master, frame)
        os.write(master, _reading(6))  # the node's next real frame
        assert sub.wait_for(lambda c: any(m.event.body.node_seq == 6 for m in c.events), 10), (
            log.read_text())
        # Health is published every 0.5 s: wait until it has counted the refused frames.
        n_health = len(sub.of_kind("health"))
        assert sub.wait_for(lambda c: len(c.of_kind("health")) > n_health + 1, 5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        sub.stop()
        os.close(master)
        os.close(slave)

    node_seqs = [m.event.body.node_seq for m in sub.events]
    assert sorted(node_seqs) == [1, 2, 3, 4, 5, 6], (
        f"replayed frames became new events: node seqs {node_seqs}")
    counters = sub.of_kind("health")[-1].document["sensors"][f"nodelink:{LINK}"]
    assert counters.get("rejected_replay") == 5, counters
    assert counters.get("frames_ok") == 1, counters
