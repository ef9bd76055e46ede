"""Event rows for the central tests (built through the real codec and classifier)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from central.decode import EventRow, classify
from gateway.events import Direction, Event, Location, Topics, VehiclePassage, encode, new_event_id

HOUR = 3_600_000


def row(device: str, seq: int, body: object, ts_ms: int | None = None,
        loc: Location | None = None) -> EventRow:
    ts = ts_ms if ts_ms is not None else time.time_ns() // 1_000_000
    ev = Event(body=body, id=new_event_id(ts), ts_ms=ts, seq=seq, loc=loc)  # type: ignore[arg-type]
    c = classify(Topics(device).event(ev.type), encode(ev), None, ts + 50)
    assert isinstance(c, EventRow), c
    return c


def passage(device: str, seq: int, plate: str, ts_ms: int | None = None,
            direction: Direction = Direction.INBOUND) -> EventRow:
    return row(device, seq, VehiclePassage(plate=plate, direction=direction, vehicle_class="car",
                                           plate_conf=0.9), ts_ms, Location(30.1, 120.2))


REPO = Path(__file__).resolve().parents[2]


class CentralProc:
    """One ``edgepost central run`` process; its web port is read from its first lines."""

    def __init__(self, config: Path, instance: str, log: Path) -> None:
        self.config, self.instance, self.log_path = config, instance, log
        self.proc: subprocess.Popen[str] | None = None
        self.port: int | None = None
        self._ready = threading.Event()

    def start(self) -> CentralProc:
        self._ready.clear()
        self.port = None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "central", "run", "-c", str(self.config),
             "--instance", self.instance, "--web-port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        assert self._ready.wait(30), f"{self.instance} did not start:\n{self.log_text()}"
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with self.log_path.open("a") as log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                m = re.search(r"web UI on http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
                    self._ready.set()

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2) as r:
                return json.loads(r.read())["ingest"]  # type: ignore[no-any-return]
        except OSError:
            return None

    def wait_subscribed(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = self.health()
            if h and h["subscribed"]:
                return
            time.sleep(0.1)  # polling an observable condition with a deadline
        raise AssertionError(f"{self.instance} never subscribed:\n{self.log_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def district_pair(broker_port: int, url: str, tmp: Path,
                  receive_maximum: int) -> tuple[CentralProc, CentralProc]:
    """Two ``edgepost central`` instances sharing the group "district" into ``url``, both subscribed.

    What the district test and the district benchmark run: fast database retries (0.2..2 s) so
    an outage is noticed and ridden out within the run; logs in ``tmp``/a.log and b.log.
    """
    cfg = tmp / "central.toml"
    cfg.write_text(f"""
[broker]
port = {broker_port}
group = "district"
receive_maximum = {receive_maximum}
[database]
url = "{url}"
[ingest]
retry_min_s = 0.2
retry_max_s = 2.0
[web]
secret_file = "{tmp / 'secret.key'}"
""")
    a = CentralProc(cfg, "central-a", tmp / "a.log").start()
    b = CentralProc(cfg, "central-b", tmp / "b.log").start()
    try:
        a.wait_subscribed()
        b.wait_subscribed()
    except BaseException:
        a.stop()  # the caller gets no handle on them: don't leave them running
        b.stop()
        raise
    return a, b
