"""The generated broker configuration and ACL, enforced by a real mosquitto.

One site: gateways gw-a and gw-b, reader sub-ops, operator ops-desk, and gw-c (revoked).
The broker runs the generated edgepost.conf as is (tests/provisioning/brokerkit.py).
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from tests.provisioning.brokerkit import Client, connect, make_site, module_broker, start_broker
from tests.provisioning.conftest import run_provision


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("prov") / "site", ("gw-a", "gw-b", "gw-c"),
                     subscribers=["sub-ops"], operators=["ops-desk"], revoked=["gw-c"])


broker = module_broker()



def test_generated_files_have_the_required_settings(site: Path, broker: LocalMosquitto) -> None:
    conf = (site / "broker" / "edgepost.conf").read_text()
    for line in ("require_certificate true", "use_identity_as_username true", "allow_anonymous false",
                 f"crlfile {site}/broker/crl.pem", f"acl_file {site}/broker/acl"):
        assert line in conf
    acl = (site / "broker" / "acl").read_text()
    assert "user gw-a\ntopic write edgepost/v1/gw-a/#\ntopic read edgepost/v1/gw-a/cmd/#" in acl
    assert "user sub-ops\ntopic read edgepost/v1/#\n" in acl
    assert "gw-c" not in acl  # revoked: no rights even before the CRL is checked
    assert "pattern" not in acl.replace("`pattern`", "")
    assert stat.S_IMODE((site / "broker" / "server.key").stat().st_mode) == 0o600


def test_gateway_publishes_under_its_own_prefix(site: Path, broker: LocalMosquitto,
                                                clients: list[Client]) -> None:
    sub = connect(site, broker, clients, "sub-ops", "subscribers")
    sub.subscribe("edgepost/v1/#")
    gw_a = connect(site, broker, clients, "gw-a")
    rc = gw_a.publish("edgepost/v1/gw-a/event/vehicle_passage", b"ok")
    assert not rc.is_failure, rc
    assert sub.wait_messages(1)
    assert sub.messages[0].topic == "edgepost/v1/gw-a/event/vehicle_passage"


def test_publish_under_another_gateways_prefix_is_refused_and_not_delivered(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    sub = connect(site, broker, clients, "sub-ops", "subscribers")
    sub.subscribe("edgepost/v1/#")
    gw_a = connect(site, broker, clients, "gw-a")
    for topic in ("edgepost/v1/gw-b/event/vehicle_passage", "edgepost/v1/gw-b/state",
                  "edgepost/v1/other", "elsewhere/topic"):
        rc = gw_a.publish(topic, b"forged")
        assert rc.value == 135, (topic, rc)  # Not authorized
    rc = gw_a.publish("edgepost/v1/gw-a/health", b"marker")  # ordered after the forged ones
    assert not rc.is_failure
    assert sub.wait_messages(1)
    time.sleep(0.3)
    assert [m.topic for m in sub.messages] == ["edgepost/v1/gw-a/health"]


def test_gateway_reads_only_its_own_commands(site: Path, broker: LocalMosquitto,
                                             clients: list[Client]) -> None:
    gw_a = connect(site, broker, clients, "gw-a")
    gw_b = connect(site, broker, clients, "gw-b")
    gw_a.subscribe("edgepost/v1/gw-a/cmd/#")
    gw_b.subscribe("edgepost/v1/gw-a/cmd/#")  # granted by MQTT, but the ACL delivers nothing
    gw_b.subscribe("edgepost/v1/gw-a/event/#")
    ops = connect(site, broker, clients, "ops-desk", "subscribers")
    assert not ops.publish("edgepost/v1/gw-a/cmd/snapshot", b"{}").is_failure
    assert ops.publish("edgepost/v1/gw-a/event/fake", b"{}").value == 135  # operators: cmd only
    assert gw_a.wait_messages(1)
    time.sleep(0.3)
    assert gw_b.messages == []


def test_subscriber_account_cannot_publish(site: Path, broker: LocalMosquitto,
                                           clients: list[Client]) -> None:
    sub = connect(site, broker, clients, "sub-ops", "subscribers")
    sub.subscribe("edgepost/v1/#")
    for topic in ("edgepost/v1/gw-a/event/vehicle_passage", "edgepost/v1/gw-a/cmd/reboot",
                  "edgepost/v1/sub-ops/state"):
        assert sub.publish(topic, b"nope").value == 135, topic
    time.sleep(0.3)
    assert sub.messages == []


def test_client_without_certificate_cannot_connect(site: Path, broker: LocalMosquitto) -> None:
    c = Client(site, broker.port, None)
    try:
        assert not c.connect(timeout=2)
    finally:
        c.close()


def test_revoked_certificate_cannot_connect(site: Path, broker: LocalMosquitto) -> None:
    c = Client(site, broker.port, "gw-c")
    try:
        assert not c.connect(timeout=2)
    finally:
        c.close()
    assert "gw-c" not in (site / "broker" / "acl").read_text()


def test_revocation_takes_effect_after_broker_restart(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    assert run_provision(site, "gateway", "gw-x", "--broker-host", "127.0.0.1") == 0
    assert run_provision(site, "gateway", "gw-y", "--broker-host", "127.0.0.1") == 0
    b = start_broker(site, tmp_path / "mosq")
    made: list[Client] = []
    try:
        connect(site, b, made, "gw-x")
        assert run_provision(site, "revoke", "gw-x") == 0
        # Re-issue the broker files (what the technician copies to the broker), then restart.
        assert run_provision(site, "broker", "--ip", "127.0.0.1", "--dns", "localhost", "--port",
                             str(b.port), "--bind", "127.0.0.1", "--etc-dir", str(site / "broker")) == 0
        b.stop()
        b.start()
        c = Client(site, b.port, "gw-x")
        assert not c.connect(timeout=2), "revoked gateway still connects after restart"
        c.close()
        connect(site, b, made, "gw-y")  # others unaffected
    finally:
        for c in made:
            c.close()
        b.close()


def test_key_files_are_owner_only(site: Path) -> None:
    keys = list(site.rglob("*.key"))
    assert len(keys) >= 6
    for k in keys:
        assert stat.S_IMODE(k.stat().st_mode) == 0o600, k
    for d in (site, site / "ca", site / "gateways" / "gw-a", site / "signing"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
