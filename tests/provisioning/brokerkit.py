"""Helpers for tests that run a real mosquitto on the generated site broker configuration.

The broker runs the generated edgepost.conf (TLS, client certificates, CRL, ACL) as is; only
the process user and log file are added, as Debian's main mosquitto.conf would.
"""

from __future__ import annotations

import getpass
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gateway.broker import LocalMosquitto
from gateway.broker.local import free_port
from tests.provisioning.conftest import run_provision


def provision_broker(site: Path, port: int, *extra: str) -> None:
    """``provision broker`` for a loopback broker whose files stay in ``site/broker``."""
    assert run_provision(site, "broker", "--ip", "127.0.0.1", "--dns", "localhost", "--port", str(port),
                         "--bind", "127.0.0.1", "--etc-dir", str(site / "broker"), *extra) == 0


def broker_on_generated_conf(site: Path, workdir: Path, port: int | None = None,
                             extra_conf: str = "", log_all: bool = True) -> LocalMosquitto:
    """A (not yet started) mosquitto whose configuration is the generated ``edgepost.conf``.

    ``log_all`` logs every packet (for failure messages); off for high-rate tests.
    """
    port = port or free_port()
    provision_broker(site, port)
    b = LocalMosquitto(port=port, workdir=workdir)
    generated = (site / "broker" / "edgepost.conf").read_text()
    b.conf_path.write_text(generated + f"\nuser {getpass.getuser()}\nlog_dest file {b.log_path}\n"
                           f"log_type {'all' if log_all else 'notice'}\n{extra_conf}\n")
    return b


def start_broker(site: Path, workdir: Path) -> LocalMosquitto:
    """Provision the broker files and start mosquitto on them."""
    return broker_on_generated_conf(site, workdir).start()



def make_site(site: Path, gateways: Iterable[str], *, subscribers: Iterable[str] = (),
              operators: Iterable[str] = (), centrals: Iterable[str] = (),
              revoked: Iterable[str] = ()) -> Path:
    """A site CA with these identities (gateways on a loopback broker), some then revoked."""
    assert run_provision(site, "ca", "init") == 0
    for gw in gateways:
        assert run_provision(site, "gateway", gw, "--broker-host", "127.0.0.1") == 0
    for sub in subscribers:
        assert run_provision(site, "subscriber", sub) == 0
    for op in operators:
        assert run_provision(site, "subscriber", op, "--operator") == 0
    for central in centrals:
        assert run_provision(site, "central", central) == 0
    for name in revoked:
        assert run_provision(site, "revoke", name) == 0
    return site


def module_broker() -> Callable[..., Any]:
    """A module-scoped ``broker`` fixture: mosquitto on the module's ``site`` broker files.

    Assign it in the test module (``broker = module_broker()``): started once, since making the
    site's certificates and starting TLS mosquitto is what costs time in these tests.
    """

    @pytest.fixture(scope="module")
    def broker(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMosquitto]:
        b = start_broker(site, tmp_path_factory.mktemp("mosq"))
        yield b
        b.close()

    return broker

class Client:
    """A paho MQTT 5 client with a site certificate (or none), recording what happens."""

    def __init__(self, site: Path, port: int, name: str | None, folder: str = "gateways", *,
                 client_id: str | None = None, will: tuple[str, bytes] | None = None,
                 protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv5) -> None:
        cid = client_id if client_id is not None else f"t-{name}-{time.monotonic_ns()}"
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=protocol)
        if name is None:
            self.c.tls_set(ca_certs=str(site / "ca" / "ca.pem"))
        else:
            d = site / folder / name
            self.c.tls_set(ca_certs=str(d / "ca.pem"), certfile=str(d / f"{name}.pem"),
                           keyfile=str(d / f"{name}.key"))
        if will is not None:
            self.c.will_set(will[0], will[1], qos=1)
        self.protocol = protocol
        self.port = port
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.messages: list[mqtt.MQTTMessage] = []
        self.acks: dict[int, ReasonCode] = {}
        self.subacked = threading.Event()
        self._cond = threading.Condition()
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = lambda c, u, f, rc, p: self.disconnected.set()
        self.c.on_message = self._on_message
        self.c.on_publish = self._on_publish
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacked.set()

    def _on_connect(self, c: object, u: object, f: object, rc: ReasonCode, p: object) -> None:
        if not rc.is_failure:
            self.connected.set()

    def _on_message(self, c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def _on_publish(self, c: object, u: object, mid: int, rc: ReasonCode, p: object) -> None:
        with self._cond:
            self.acks[mid] = rc
            self._cond.notify_all()

    def connect(self, timeout: float = 5, clean_start: bool = True,
                session_expiry_s: int | None = None) -> bool:
        props = None
        if session_expiry_s is not None:
            props = Properties(mqtt.PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry_s
        kw = {"clean_start": clean_start, "properties": props} if self.protocol == mqtt.MQTTv5 else {}
        try:
            self.c.connect("127.0.0.1", self.port, keepalive=10, **kw)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError):
            return False
        self.c.loop_start()
        return self.connected.wait(timeout)

    def subscribe(self, topic: str) -> None:
        self.subacked.clear()
        self.c.subscribe(topic, qos=1)
        assert self.subacked.wait(5)

    def publish(self, topic: str, payload: bytes = b"x") -> ReasonCode:
        info = self.c.publish(topic, payload, qos=1)
        with self._cond:
            assert self._cond.wait_for(lambda: info.mid in self.acks, 5), "no PUBACK"
            return self.acks[info.mid]

    def wait_messages(self, n: int, timeout: float = 5) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= n, timeout)

    def topics(self) -> list[str]:
        with self._cond:
            return [m.topic for m in self.messages]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def connect(site: Path, broker: LocalMosquitto, made: list[Client], name: str | None,
            folder: str = "gateways", **kw: object) -> Client:
    """A connected client (the test fails with the broker log if it cannot connect)."""
    c = Client(site, broker.port, name, folder, **kw)  # type: ignore[arg-type]
    assert c.connect(), f"{name} could not connect:\n{broker.log_text()[-2000:]}"
    made.append(c)
    return c
