"""TLS with client certificates against a real mosquitto (certificates made with openssl)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.events import VehiclePassage
from gateway.service.gateway import GatewayService
from tests.conftest import make_config


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=d)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test site CA", "-days", "2",
            "-out", "ca.pem", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                      ("gw-demo", "extendedKeyUsage=clientAuth")):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
        openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr",
                cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
                cwd=d)
    return d


def tls_broker(pki: Path) -> LocalMosquitto:
    b = LocalMosquitto(extra_conf="")
    # Replace the plain listener by a TLS one that demands a client certificate.
    b.conf_path.write_text(b.conf_path.read_text().replace(
        f"listener {b.port} 127.0.0.1",
        f"listener {b.port} 127.0.0.1\ncafile {pki}/ca.pem\ncertfile {pki}/server.pem\n"
        f"keyfile {pki}/server.key\nrequire_certificate true\nuse_identity_as_username true"))
    return b


def wait(cond, timeout: float = 10) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(cond())


def test_gateway_publishes_over_tls_with_client_certificate(pki: Path, tmp_path: Path) -> None:
    with tls_broker(pki) as broker:
        cfg = make_config(tmp_path, broker.port, mqtt={
            "tls": {"ca_file": str(pki / "ca.pem"), "certfile": str(pki / "gw-demo.pem"),
                    "keyfile": str(pki / "gw-demo.key")}})
        service = GatewayService(cfg)
        service.start()
        try:
            service.producer.emit(VehiclePassage(plate="京A12345", plate_conf=0.9))
            assert wait(lambda: service.spool.stats().acked == 1), service.uplink.stats
            assert "New client connected" in broker.log_text() and "u'gw-demo'" in broker.log_text()
        finally:
            service.stop()


def test_gateway_without_client_certificate_is_refused_and_keeps_events(
        pki: Path, tmp_path: Path) -> None:
    with tls_broker(pki) as broker:
        cfg = make_config(tmp_path, broker.port, mqtt={"tls": {"ca_file": str(pki / "ca.pem")}})
        service = GatewayService(cfg)
        service.start()
        try:
            service.producer.emit(VehiclePassage(plate="京A12345", plate_conf=0.9))
            assert wait(lambda: service.uplink.stats.connect_failures >= 2)
            assert not service.uplink.stats.connected
            assert service.spool.stats().depth == 1  # still waiting, not lost
        finally:
            service.stop()
