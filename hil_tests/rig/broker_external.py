"""Driver: a broker that already runs; outages only through the rig's configured commands."""

from __future__ import annotations

import subprocess

from hil_tests.rig.model import ExternalBrokerSpec


class ExternalBroker:
    def __init__(self, spec: ExternalBrokerSpec) -> None:
        self.spec = spec
        self.host = spec.host
        self.port = spec.port
        self.can_outage = bool(spec.stop_command and spec.start_command)

    def start(self) -> None:
        if self.spec.start_command:
            subprocess.run(self.spec.start_command, shell=True, check=True, timeout=60)

    def stop(self) -> None:
        if not self.spec.stop_command:
            raise RuntimeError("rig file gives no broker.stop_command")
        subprocess.run(self.spec.stop_command, shell=True, check=True, timeout=60)

    @property
    def running(self) -> bool:
        return True

    def log_tail(self) -> str:
        return ""

    def close(self) -> None:
        pass
