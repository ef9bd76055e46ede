"""The page's transport: HTTPS with a site-CA certificate, and a warning where logins would cross
the network in clear (found by probing, session 43: a page bound to a LAN address without
``[web.tls]`` started as quietly as a loopback one)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import httpx
import pytest

from gateway.broker import LocalMosquitto
from provisioning.ca import cert_pem, init_ca, key_pem, new_key
from tests.web.helpers import gateway_toml, running


def test_loopback_page_has_no_cleartext_warning(broker: LocalMosquitto, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), running(gateway_toml(tmp_path, broker.port)) as (service, _):
        assert "cleartext_logins" not in service.web.health()
    assert "without TLS" not in caplog.text


def test_plain_http_off_loopback_is_named_in_the_log_and_health(
        broker: LocalMosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = gateway_toml(tmp_path, broker.port, web={"bind": ["0.0.0.0"]})
    with caplog.at_level(logging.WARNING), running(path) as (service, _):
        port = service.web.ports[0][1]
        assert service.web.health()["cleartext_logins"] == [f"0.0.0.0:{port}"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/login").status_code == 200  # allowed, only never silent
    warning = next(r.getMessage() for r in caplog.records if "without TLS" in r.getMessage())
    assert f"0.0.0.0:{port}" in warning and "[web.tls]" in warning


def test_https_page_with_a_site_ca_certificate(broker: LocalMosquitto, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    ca, _ = init_ca(tmp_path / "site")
    key = new_key()
    cert = ca.issue("gw-web", key.public_key(), server=True, ip_addresses=("127.0.0.1",))
    (tmp_path / "gw.pem").write_bytes(cert_pem(cert))
    (tmp_path / "gw.key").write_bytes(key_pem(key))
    path = gateway_toml(tmp_path, broker.port, web={
        "bind": ["0.0.0.0"],
        "tls": {"certfile": str(tmp_path / "gw.pem"), "keyfile": str(tmp_path / "gw.key")}})
    with caplog.at_level(logging.WARNING), running(path) as (service, _):
        port = service.web.ports[0][1]
        assert "cleartext_logins" not in service.web.health()
        trust = ssl.create_default_context(cafile=str(ca.cert_path))
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=trust, timeout=10) as client:
            assert client.get("/api/v1/session").status_code == 200
        with pytest.raises(httpx.HTTPError), httpx.Client(timeout=10) as plain:
            plain.get(f"http://127.0.0.1:{port}/login")  # no plain HTTP beside it
    assert "without TLS" not in caplog.text
