"""Connection failures are named with their fix (issue 10, item 7): the gateway's log and
health against real mosquitto brokers (TLS with a CRL, a password file, nothing listening),
and the pure mappings under property tests."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.broker import LocalMosquitto, free_port
from gateway.service.gateway import GatewayService
from gateway.uplink.diagnose import Endpoint, explain_connack, explain_text
from provisioning.ca import cert_pem, init_ca, key_pem, new_key
from tests.conftest import make_config

PASSWORD = "right-horse-battery"


def make_pki(d: Path) -> Path:
    """Site CA (with a CRL revoking gw-revoked), broker certificate, client identities, and
    a second CA that signed gw-foreign."""
    site, _ = init_ca(d / "site")
    other, _ = init_ca(d / "other", name="another site's CA")

    def issue(ca: Any, name: str, **kw: Any) -> int:
        key = new_key()
        cert = ca.issue(name, key.public_key(), **kw)
        (d / f"{name}.key").write_bytes(key_pem(key))
        (d / f"{name}.pem").write_bytes(cert_pem(cert))
        return int(cert.serial_number)

    issue(site, "server", server=True, ip_addresses=("127.0.0.1",), dns_names=("localhost",))
    issue(site, "gw-demo")
    revoked = issue(site, "gw-revoked")
    issue(other, "gw-foreign")
    site.write_crl([(revoked, dt.datetime.now(dt.UTC))])
    return d


def tls_broker(pki: Path) -> LocalMosquitto:
    """mosquitto with one TLS listener: client certificate required, CRL checked."""
    b = LocalMosquitto()
    b.conf_path.write_text(b.conf_path.read_text().replace(
        f"listener {b.port} 127.0.0.1",
        f"listener {b.port} 127.0.0.1\ncafile {pki}/site/ca.pem\ncertfile {pki}/server.pem\n"
        f"keyfile {pki}/server.key\nrequire_certificate true\nuse_identity_as_username true\n"
        f"crlfile {pki}/site/crl.pem"))
    return b


def password_broker(workdir: Path) -> LocalMosquitto:
    """mosquitto on a plain port that wants user gw-demo with PASSWORD."""
    pw = workdir / "passwords"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "gw-demo", PASSWORD], check=True,
                   capture_output=True)
    b = LocalMosquitto()
    b.conf_path.write_text(b.conf_path.read_text().replace(
        "allow_anonymous true", f"allow_anonymous false\npassword_file {pw}"))
    return b


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def brokers(pki: Path) -> Iterator[dict[str, int]]:
    tls = tls_broker(pki).start()
    plain = password_broker(pki).start()
    try:
        yield {"tls": tls.port, "plain": plain.port}
    finally:
        tls.close()
        plain.close()


def _tls(pki: Path, who: str | None, ca: str = "site") -> dict[str, Any]:
    section: dict[str, Any] = {"ca_file": str(pki / ca / "ca.pem")}
    if who is not None:
        section |= {"certfile": str(pki / f"{who}.pem"), "keyfile": str(pki / f"{who}.key")}
    return {"tls": section}


SCENARIOS: dict[str, Callable[[Path, dict[str, int]], tuple[int, dict[str, Any]]]] = {
    "revoked certificate": lambda p, b: (b["tls"], _tls(p, "gw-revoked")),
    "certificate of another CA": lambda p, b: (b["tls"], _tls(p, "gw-foreign")),
    "no client certificate": lambda p, b: (b["tls"], _tls(p, None)),
    "wrong CA file (handshake failure)": lambda p, b: (b["tls"], _tls(p, "gw-demo", "other")),
    "plain client on the TLS port": lambda p, b: (b["tls"], {}),
    "TLS client on the plain port": lambda p, b: (b["plain"], _tls(p, "gw-demo")),
    "wrong port (nothing listening)": lambda p, b: (free_port(), {}),
    "bad password": lambda p, b: (b["plain"], {"username": "gw-demo", "password": "wrong-guess-7"}),
}
EXPECTED = {  # the words that name the cause, and the words of the fix
    "revoked certificate": ("it is revoked", "--renew"),
    "certificate of another CA": ("issued by another CA", "site CA"),
    "no client certificate": ("requires a client certificate", "mqtt.tls.certfile and keyfile"),
    "wrong CA file (handshake failure)": ("not signed by the CA in", "set mqtt.tls.ca_file"),
    "plain client on the TLS port": ("expects TLS", "add an [mqtt.tls] section"),
    "TLS client on the plain port": ("speaks plain MQTT, not TLS", "remove [mqtt.tls]"),
    "wrong port (nothing listening)": ("nothing is listening on port", "check mqtt.port"),
    "bad password": ("not authorized", "check mqtt.username and mqtt.password"),
}


def _wait(cond: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_gateway_names_the_cause_and_the_fix(scenario: str, pki: Path, brokers: dict[str, int],
                                             tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.uplink.publisher")
    port, mqtt = SCENARIOS[scenario](pki, brokers)
    service = GatewayService(make_config(tmp_path, port, mqtt=mqtt))
    service.start()
    try:
        assert _wait(lambda: service.uplink.stats.connect_failures >= 2), service.uplink.stats
        assert not service.uplink.stats.connected
        last_error = service.uplink.stats.last_error or ""
    finally:
        service.stop()
    cause, fix = EXPECTED[scenario]
    assert cause in last_error and fix in last_error, last_error
    lines = [r.getMessage() for r in caplog.records if "events stay in the spool" in r.getMessage()]
    assert len(lines) == 1, lines  # one line, not one per retry
    assert f"broker 127.0.0.1:{port} " in lines[0] and cause in lines[0], lines[0]
    assert "unreachable" not in lines[0] or scenario.startswith("wrong port"), lines[0]
    assert "wrong-guess-7" not in last_error and "wrong-guess-7" not in caplog.text


def test_good_certificate_still_connects(pki: Path, brokers: dict[str, int],
                                         tmp_path: Path) -> None:
    service = GatewayService(make_config(tmp_path, brokers["tls"], mqtt=_tls(pki, "gw-demo")))
    service.start()
    try:
        assert _wait(lambda: service.uplink.stats.connected), service.uplink.stats.last_error
    finally:
        service.stop()


EP = Endpoint("broker.site", 8883, tls=True, ca_file=Path("/etc/edgepost/ca.pem"),
              certfile=Path("/etc/edgepost/gw.pem"), keyfile=Path("/etc/edgepost/gw.key"),
              client_id="gw-1")


@given(st.text(max_size=200))
def test_any_failure_text_maps_to_a_cause_or_none(text: str) -> None:
    found = explain_text(text, EP)
    assert found is None or (found.cause and found.message and found.kind)


@given(st.sampled_from(["SSLError", "SSLCertVerificationError", "OSError"]),
       st.sampled_from(["SSLV3_ALERT_CERTIFICATE_REVOKED", "TLSV1_ALERT_UNKNOWN_CA",
                        "TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_CERTIFICATE_EXPIRED"]),
       st.text(max_size=40))
def test_tls_alerts_in_text_name_the_client_certificate_problem(name: str, reason: str,
                                                                tail: str) -> None:
    found = explain_text(f"{name}: [SSL: {reason}] {reason.lower()} {tail}", EP)
    assert found is not None and found.kind == "credentials" and found.cause.startswith("cert_")


@given(st.integers(0, 255))
def test_every_connack_code_gets_a_message(code: int) -> None:
    found = explain_connack(code, EP)
    assert found.message.startswith("refused the connection")
    assert (found.kind == "credentials") == (code in (2, 4, 5, 133, 134, 135, 138, 140))


def test_hostname_and_expiry_texts() -> None:
    mismatch = explain_text("SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] "
                            "certificate verify failed: Hostname mismatch, certificate is not "
                            "valid for 'broker.site'. (_ssl.c:1006)", EP)
    assert mismatch is not None and mismatch.cause == "hostname_mismatch"
    expired = explain_text("SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] "
                           "certificate verify failed: certificate has expired", EP)
    assert expired is not None and expired.cause == "server_cert_expired"
    assert explain_text("gaierror: [Errno -2] Name or service not known", EP).cause == "dns"  # type: ignore[union-attr]


def test_a_silent_listener_is_named_as_no_connack() -> None:
    import socket

    from gateway.uplink.diagnose import explain

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        found = explain(Endpoint("127.0.0.1", port), "no CONNACK from the broker in time")
    assert found.cause == "no_connack" and "check that mqtt.port" in found.message
