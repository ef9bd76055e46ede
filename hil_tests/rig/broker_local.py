"""Driver: a private mosquitto on this machine (gateway.broker.LocalMosquitto), outage-capable."""

from __future__ import annotations

from pathlib import Path

from gateway.broker import LocalMosquitto
from hil_tests.rig.model import LocalBrokerSpec


class LocalBroker:
    """start / stop (an outage: same port and persistence when it comes back) / close."""

    can_outage = True

    def __init__(self, spec: LocalBrokerSpec, workdir: Path) -> None:
        self.spec = spec
        self.host = "127.0.0.1"
        self.mosquitto = LocalMosquitto(port=spec.port or None, persistence=spec.persistence,
                                        workdir=workdir)
        self.port = self.mosquitto.port

    def start(self) -> None:
        self.mosquitto.start()

    def stop(self) -> None:
        """Begin an outage: the broker process goes away (persistence saved)."""
        self.mosquitto.stop()

    @property
    def running(self) -> bool:
        return self.mosquitto.running

    def log_tail(self) -> str:
        return self.mosquitto.log_text()[-2000:]

    def close(self) -> None:
        self.mosquitto.close()
