"""``events tail`` names why it cannot subscribe, and says so in its exit status (issue 10,
item 7): real mosquitto brokers with TLS + CRL and with a password file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import free_port
from tests.conftest import REPO
from tests.uplink.test_diagnose import PASSWORD, make_pki, password_broker, tls_broker


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    tls = tls_broker(pki).start()
    plain = password_broker(pki).start()
    try:
        yield pki, {"tls": tls.port, "plain": plain.port}
    finally:
        tls.close()
        plain.close()


def _tls(pki: Path, who: str | None, ca: str = "site") -> list[str]:
    args = ["--cafile", str(pki / ca / "ca.pem")]
    if who is not None:
        args += ["--cert", str(pki / f"{who}.pem"), "--key", str(pki / f"{who}.key")]
    return args


def _password(pki: Path, value: str) -> list[str]:
    path = pki / f"pw-{value}"
    path.write_text(value + "\n")
    return ["-u", "gw-demo", "--password-file", str(path)]


CASES = {
    # scenario: (broker, extra args, exit status, cause words, fix words)
    "revoked certificate": ("tls", lambda p: _tls(p, "gw-revoked"), 3, "it is revoked",
                            "--renew"),
    "certificate of another CA": ("tls", lambda p: _tls(p, "gw-foreign"), 3,
                                  "issued by another CA", "site CA"),
    "no client certificate": ("tls", lambda p: _tls(p, None), 3,
                              "requires a client certificate", "--cert and --key"),
    "wrong CA file (handshake failure)": ("tls", lambda p: _tls(p, "gw-demo", "other"), 4,
                                          "not signed by the CA in", "set --cafile"),
    "plain client on the TLS port": ("tls", lambda p: [], 4, "expects TLS", "add --cafile"),
    "TLS client on the plain port": ("plain", lambda p: _tls(p, "gw-demo"), 4,
                                     "speaks plain MQTT, not TLS", "drop --cafile"),
    "wrong port (nothing listening)": ("none", lambda p: [], 5, "nothing is listening on port",
                                       "check -p/--port"),
    "bad password": ("plain", lambda p: _password(p, "wrong-guess-7"), 3, "not authorized",
                     "-u/--username and --password-file"),
}


@pytest.mark.parametrize("scenario", list(CASES))
def test_events_tail_names_the_cause_and_exits_nonzero(
        scenario: str, site: tuple[Path, dict[str, int]]) -> None:
    pki, ports = site
    broker, extra, status, cause, fix = CASES[scenario]
    port = ports.get(broker) or free_port()
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "gateway", "events", "tail", "-p", str(port),
                          "--wait", "3", *extra(pki)], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    took = time.monotonic() - t0
    assert res.returncode == status, res.stderr
    assert cause in res.stderr and fix in res.stderr, res.stderr
    assert f"broker 127.0.0.1:{port} " in res.stderr
    assert "Traceback" not in res.stderr and "wrong-guess-7" not in res.stderr
    assert res.stderr.count(cause) == (2 if status == 5 else 1), res.stderr  # not per retry
    if status != 5:  # refusals that retrying cannot cure end at once, not after --wait
        assert took < 3 + 5, took


def test_events_tail_with_good_credentials_still_subscribes(
        site: tuple[Path, dict[str, int]]) -> None:
    pki, ports = site
    for port, extra in ((ports["tls"], _tls(pki, "gw-demo")),
                        (ports["plain"], _password(pki, PASSWORD))):
        res = subprocess.run([sys.executable, "-m", "gateway", "events", "tail", "-p", str(port),
                              "-W", "1", *extra], cwd=REPO, capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stderr.startswith("# subscribed to edgepost/v1/+/event/#"), res.stderr


def test_unreadable_password_file_is_a_usage_error(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "gateway", "events", "tail", "-u", "x",
                          "--password-file", str(tmp_path / "missing")], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert f"cannot read --password-file {tmp_path / 'missing'}" in res.stderr
    assert "Traceback" not in res.stderr


def test_exit_statuses_are_in_the_help() -> None:
    res = subprocess.run([sys.executable, "-m", "gateway", "events", "tail", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    for line in ("3  the broker refused the credentials", "4  the TLS settings do not match",
                 "5  no connection within --wait seconds"):
        assert line in res.stdout
