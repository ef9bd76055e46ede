"""Driver: a real gateway (a Pi) over ssh, running the systemd unit (real rigs only).

The suite does not rewrite a real gateway's configuration: scenarios that need extra
configuration (demo traffic, a specific camera) say so and are skipped on such a rig.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from hil_tests.rig.model import SshGatewaySpec


class SshGateway:
    def __init__(self, spec: SshGatewaySpec, power: Any = None,
                 wait_online: Callable[[float], None] | None = None) -> None:
        self.spec = spec
        self.device_id = spec.device_id
        self.power = power
        self.wait_online = wait_online
        self.starts = 0
        self.kills = 0

    def _ssh(self, *cmd: str, check: bool = True) -> str:
        proc = subprocess.run(["ssh", "-o", "BatchMode=yes", self.spec.host, *cmd],
                              capture_output=True, text=True, timeout=60, check=check)
        return proc.stdout

    def configure(self, **sections: dict[str, Any]) -> None:
        raise NotImplementedError("a real gateway keeps its own configuration; "
                                  "this scenario needs the simulated rig")

    def start(self) -> None:
        self._ssh("sudo", "systemctl", "start", self.spec.unit)
        self.starts += 1
        if self.wait_online is not None:
            self.wait_online(self.spec.start_timeout_s)

    def stop(self) -> None:
        self._ssh("sudo", "systemctl", "stop", self.spec.unit)

    def kill(self) -> None:
        """Power cut: the Pi's supply if the rig has a switch, else SIGKILL of the service."""
        if self.power is not None:
            self.power.off()
        else:
            self._ssh("sudo", "systemctl", "kill", "-s", "KILL", self.spec.unit)
        self.kills += 1

    def restart(self) -> None:
        if self.power is not None:
            self.power.on()
        else:
            self._ssh("sudo", "systemctl", "restart", self.spec.unit)
        if self.wait_online is not None:
            self.wait_online(self.spec.start_timeout_s)

    def log_tail(self, n: int = 4000) -> str:
        return self._ssh("journalctl", "-u", self.spec.unit, "-n", "60", "--no-pager",
                         check=False)[-n:]

    @property
    def running(self) -> bool:
        return self._ssh("systemctl", "is-active", self.spec.unit, check=False).strip() == "active"

    def close(self) -> None:
        pass
