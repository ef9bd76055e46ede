"""The broker stays current: enrolments and revocations reach a running broker, re-runs keep settings.

A broker this machine runs (``provision broker --pid-file``) gets the new ACL and CRL copied
into its folder and a SIGHUP; elsewhere the technician is told what to copy and reload.
"""

from __future__ import annotations

import getpass
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.broker.local import free_port
from provisioning.inventory import Inventory
from tests.provisioning.brokerkit import Client, connect
from tests.provisioning.conftest import run_provision


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    assert run_provision(site, "gateway", "gw-a", "--broker-host", "127.0.0.1") == 0
    return site


def broker_details(site: Path) -> dict[str, object]:
    with Inventory(site / "inventory.sqlite3") as inv:
        dev = inv.get("broker", "broker")
        assert dev is not None
        return dev.details


def test_rerunning_provision_broker_keeps_port_bind_and_folder(
        site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = tmp_path / "etc-mosq"
    assert run_provision(site, "broker", "--dns", "broker.site", "--port", "18883", "--bind", "10.0.0.5",
                         "--etc-dir", str(etc)) == 0
    rec = broker_details(site)
    assert (rec["port"], rec["bind"], rec["etc_dir"]) == (18883, "10.0.0.5", str(etc))
    capsys.readouterr()
    assert run_provision(site, "broker") == 0  # e.g. after an enrolment, with no options
    out = capsys.readouterr().out
    conf = (site / "broker" / "edgepost.conf").read_text().splitlines()
    assert "listener 18883 10.0.0.5" in conf
    assert f"acl_file {etc}/acl" in conf and f"crlfile {etc}/crl.pem" in conf
    rec = broker_details(site)
    assert (rec["port"], rec["bind"], rec["etc_dir"], rec["dns"]) == (18883, "10.0.0.5", str(etc),
                                                                        ["broker.site"])
    assert "kept from the last run" in out and "10.0.0.5:18883" in out
    # An option given on the re-run wins, the others are still kept.
    assert run_provision(site, "broker", "--port", "18884") == 0
    conf = (site / "broker" / "edgepost.conf").read_text().splitlines()
    assert "listener 18884 10.0.0.5" in conf and f"acl_file {etc}/acl" in conf
    assert run_provision(site, "broker", "--bind", "") == 0
    assert "listener 18884" in (site / "broker" / "edgepost.conf").read_text().splitlines()


def test_provision_gateway_updates_the_acl_and_says_how_to_apply_it(
        site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_provision(site, "broker", "--etc-dir", "/etc/mosquitto/edgepost") == 0
    capsys.readouterr()
    assert run_provision(site, "gateway", "gw-new", "--broker-host", "broker.site") == 0
    out = capsys.readouterr().out
    assert "user gw-new\ntopic write edgepost/v1/gw-new/#\n" in (site / "broker" / "acl").read_text()
    hint = [line for line in out.splitlines() if "systemctl reload mosquitto" in line]
    assert len(hint) == 1, out
    assert "/etc/mosquitto/edgepost" in hint[0] and "acl" in hint[0]


def test_before_any_broker_provision_gateway_says_to_provision_it(
        site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_provision(site, "gateway", "gw-new", "--broker-host", "broker.site") == 0
    assert "run `edgepost provision broker`" in capsys.readouterr().out


@pytest.fixture
def local_broker(site: Path, tmp_path: Path) -> Iterator[LocalMosquitto]:
    """A broker run by this machine: files installed in its own folder, a pid file."""
    etc = tmp_path / "etc-mosq"
    pid_file = tmp_path / "mosquitto.pid"
    port = free_port()
    assert run_provision(site, "broker", "--ip", "127.0.0.1", "--port", str(port), "--bind", "127.0.0.1",
                         "--etc-dir", str(etc), "--pid-file", str(pid_file)) == 0
    shutil.copytree(site / "broker", etc)  # the install step
    b = LocalMosquitto(port=port, workdir=tmp_path / "mosq")
    b.conf_path.write_text((etc / "edgepost.conf").read_text() + f"\nuser {getpass.getuser()}\n"
                           f"log_dest file {b.log_path}\nlog_type all\npid_file {pid_file}\n")
    b.start()
    yield b
    b.close()


def wait_reloads(broker: LocalMosquitto, n: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while broker.log_text().count("Reloading config") < n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # polling the broker's log for the reload, with a deadline
    return True


def test_a_gateway_enrolled_while_the_broker_runs_may_publish_at_once(
        site: Path, local_broker: LocalMosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    made: list[Client] = []
    try:
        capsys.readouterr()
        assert run_provision(site, "gateway", "gw-new", "--broker-host", "127.0.0.1") == 0
        assert "broker reloaded (SIGHUP" in capsys.readouterr().out
        assert wait_reloads(local_broker, 1), "the broker was not told to reload"
        gw = connect(site, local_broker, made, "gw-new")
        rc = gw.publish("edgepost/v1/gw-new/event/x", b"first")
        assert not rc.is_failure, f"the running broker refused the new gateway: {rc}"
    finally:
        for c in made:
            c.close()


def test_revocation_takes_effect_at_the_reload(site: Path, local_broker: LocalMosquitto) -> None:
    made: list[Client] = []
    try:
        gw_a = connect(site, local_broker, made, "gw-a")
        assert run_provision(site, "revoke", "gw-a") == 0
        assert wait_reloads(local_broker, 1)
        again = Client(site, local_broker.port, "gw-a")
        assert not again.connect(timeout=2), "revoked certificate accepted after the reload"
        again.close()
        # The open connection stays up (documented) but has no rights left.
        assert gw_a.publish("edgepost/v1/gw-a/event/x").value == 135
    finally:
        for c in made:
            c.close()
