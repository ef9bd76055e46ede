"""Driver: the gateway under test as a process on this machine.

``python -m gateway gateway run -c FILE``; start/stop (SIGTERM, clean) / kill (SIGKILL,
the simulated power cut) / restart. The configuration is the rig's (broker, node links,
key file, spool) plus what a scenario adds (cameras, demo traffic).
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from gateway.config import load_config
from hil_tests.rig.model import REPO, ProcessGatewaySpec

FAULTS = Path(__file__).resolve().parents[1] / "faults"


def _without_none(value: Any) -> Any:
    """The configuration minus keys set to None: TOML has no null, and an absent key means
    the gateway's default, which is what a scenario's None asks for."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


class GatewayProcess:
    def __init__(self, spec: ProcessGatewaySpec, workdir: Path, base: dict[str, Any],
                 wait_online: Callable[[float], None] | None = None) -> None:
        self.spec = spec
        self.device_id = spec.device_id
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "gateway.toml"
        self.log_path = self.workdir / "gateway.log"
        self.base = base
        self.overrides: dict[str, Any] = {}
        self.wait_online = wait_online
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def configure(self, **sections: dict[str, Any]) -> None:
        """Add or replace configuration sections (e.g. cameras=..., demo=...) for the next start."""
        self.overrides.update(sections)

    def config(self) -> dict[str, Any]:
        raw = copy.deepcopy(self.base)
        for name, body in self.overrides.items():
            if isinstance(body, dict) and isinstance(raw.get(name), dict):
                raw[name].update(body)
            else:
                raw[name] = body
        return raw

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.config_path.write_text(tomli_w.dumps(_without_none(self.config())))
        load_config(self.config_path)  # a bad test configuration fails here, with the reason
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO)] + ([str(FAULTS)] if env.get("HIL_FAULT") else [])
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        python = self.spec.python or sys.executable
        with self.log_path.open("ab") as log:
            log.write(f"\n# rig: start {self.starts + 1}\n".encode())
            self.proc = subprocess.Popen(
                [python, "-m", "gateway", "gateway", "run", "-c", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env=env)
        self.starts += 1
        if self.wait_online is not None:
            try:
                self.wait_online(self.spec.start_timeout_s)
            except AssertionError as exc:
                raise AssertionError(f"gateway did not come online: {exc}\n{self.log_tail()}") from None

    def stop(self, timeout: float = 20.0) -> int | None:
        """Clean stop (SIGTERM); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self) -> None:
        """Power cut: SIGKILL, no chance to flush or say goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_exit(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        self.stop()
        time.sleep(0)
