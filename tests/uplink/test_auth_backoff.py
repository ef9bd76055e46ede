"""Username/password authentication, and the reconnect backoff's bounds."""

from __future__ import annotations

import logging
import random
import subprocess
import time
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.service.gateway import GatewayService
from gateway.uplink.backoff import Backoff
from tests.conftest import make_config


def test_backoff_doubles_with_jitter_and_caps() -> None:
    b = Backoff(0.5, 8.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    ceilings = [0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[4:]}) > 1  # jitter: a fleet does not reconnect in step
    b.reset()
    assert b.next_delay() <= 0.5


@pytest.fixture
def password_broker(tmp_path: Path) -> LocalMosquitto:
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "gw-demo", "right-horse-battery"],
                   check=True, capture_output=True)
    b = LocalMosquitto(extra_conf=f"password_file {pw}")
    b.conf_path.write_text(b.conf_path.read_text().replace("allow_anonymous true",
                                                           "allow_anonymous false"))
    b.start()
    yield b
    b.close()


def wait(cond, timeout: float = 10) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(cond())


def test_password_login_and_secret_never_logged(password_broker: LocalMosquitto, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = make_config(tmp_path, password_broker.port,
                      mqtt={"username": "gw-demo", "password": "right-horse-battery"})
    service = GatewayService(cfg)
    service.start()
    try:
        assert wait(lambda: service.uplink.stats.connected)
        doc = service.publish_health()
        assert "right-horse-battery" not in repr(doc)
    finally:
        service.stop()
    assert "right-horse-battery" not in caplog.text


def test_wrong_password_is_explained_and_retried(password_broker: LocalMosquitto, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_config(tmp_path, password_broker.port,
                      mqtt={"username": "gw-demo", "password": "wrong-guess"})
    service = GatewayService(cfg)
    service.start()
    try:
        assert wait(lambda: service.uplink.stats.connect_failures >= 3)
        assert not service.uplink.stats.connected
        assert "check mqtt.username and mqtt.password" in (service.uplink.stats.last_error or "")
    finally:
        service.stop()
    assert caplog.text.count("refused the connection") == 1  # logged once, not per retry
    assert "wrong-guess" not in caplog.text
