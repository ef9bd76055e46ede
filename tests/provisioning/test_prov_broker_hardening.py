"""The generated broker config binds client ids to certificates, limits TLS and packet size.

A real mosquitto runs the generated edgepost.conf (tests/provisioning/brokerkit.py). Site:
gateways gw-a and gw-b, reader sub-ops, operator ops-desk, two central instances.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.broker import LocalMosquitto
from provisioning.broker_config import MAX_PACKET_BYTES
from tests.provisioning.brokerkit import Client, connect, make_site, module_broker

STATE_B = "edgepost/v1/gw-b/state"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("hard") / "site", ("gw-a", "gw-b"),
                     subscribers=("sub-ops", "central-1", "central-2"), operators=["ops-desk"])


broker = module_broker()



def test_another_certificate_cannot_take_over_a_gateway_session(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    sub = connect(site, broker, clients, "sub-ops", "subscribers")
    sub.subscribe("edgepost/v1/#")
    gw_b = connect(site, broker, clients, "gw-b", client_id="gw-b", will=(STATE_B, b"offline"))
    # gw-a's certificate presenting gw-b's client id: the broker uses the certificate's CN.
    thief = Client(site, broker.port, "gw-a", client_id="gw-b")
    clients.append(thief)
    thief.connect()
    # gw-b's session is still up: its publish is acknowledged and delivered after the
    # attempt, so an LWT fired by the takeover would have reached the subscriber first.
    assert not gw_b.publish("edgepost/v1/gw-b/health", b"still here").is_failure
    assert sub.wait_messages(1), broker.log_text()[-2000:]
    assert not gw_b.disconnected.is_set(), "gw-b was disconnected by another certificate"
    assert sub.topics() == ["edgepost/v1/gw-b/health"], f"gw-b's LWT fired: {sub.topics()}"
    assert "already connected" not in broker.log_text()


def test_a_stolen_certificate_can_only_disturb_its_own_gateway(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    # The documented limit: the id is the CN, so gw-a's certificate (whatever id it sends)
    # lands on gw-a's own session and replaces it -- and only that one.
    gw_a = connect(site, broker, clients, "gw-a", client_id="gw-a")
    gw_b = connect(site, broker, clients, "gw-b", client_id="gw-b")
    connect(site, broker, clients, "gw-a", client_id="gw-b")
    assert gw_a.disconnected.wait(5), "a second gw-a connection did not replace gw-a's session"
    assert not gw_b.publish("edgepost/v1/gw-b/health").is_failure
    assert not gw_b.disconnected.is_set()


def test_subscriber_instances_with_their_own_identity_do_not_kick_each_other(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    # Even configured with the same client id, each instance's id is its own CN.
    centrals = [connect(site, broker, clients, name, "subscribers", client_id="central")
                for name in ("central-1", "central-2", "sub-ops")]
    for c in centrals:
        c.subscribe("edgepost/v1/#")
    gw_a = connect(site, broker, clients, "gw-a")
    assert not gw_a.publish("edgepost/v1/gw-a/event/x", b"1").is_failure
    for c in centrals:
        assert c.wait_messages(1), "a subscriber instance missed the event"
        assert not c.disconnected.is_set()


def s_client(site: Path, port: int, *args: str) -> str:
    """Run an ``openssl s_client`` handshake with gw-a's certificate; its output."""
    d = site / "gateways" / "gw-a"
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(d / "ca.pem"),
         "-cert", str(d / "gw-a.pem"), "-key", str(d / "gw-a.key"), *args],
        input=b"", capture_output=True, timeout=20, check=False)
    return (out.stdout + out.stderr).decode(errors="replace")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_is_1_2_or_newer_with_aead_suites_only(site: Path, broker: LocalMosquitto) -> None:
    cbc = s_client(site, broker.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")
    assert "Cipher is (NONE)" in cbc and "handshake failure" in cbc, cbc
    # The client did offer the suite: it is the broker that had none in common.
    assert "no shared cipher" in broker.log_text()
    aead = s_client(site, broker.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" in aead, aead
    chacha = s_client(site, broker.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305")
    assert "Cipher is ECDHE-ECDSA-CHACHA20-POLY1305" in chacha, chacha
    assert "Cipher is TLS_AES_" in s_client(site, broker.port, "-tls1_3")
    old = s_client(site, broker.port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert "Cipher is (NONE)" in old, old


def test_oversized_publish_is_refused_and_a_crop_sized_event_passes(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    gw_a = connect(site, broker, clients, "gw-a")
    gw_a.subscribe("edgepost/v1/gw-a/cmd/#")
    sub = connect(site, broker, clients, "sub-ops", "subscribers")
    sub.subscribe("edgepost/v1/gw-a/event/#")
    # MQTT 3.1.1: no client-side limit from CONNACK, so only the broker can refuse it.
    ops = connect(site, broker, clients, "ops-desk", "subscribers", protocol=mqtt.MQTTv311)
    ops.c.publish("edgepost/v1/gw-a/cmd/snapshot", b"\0" * 10_000_000, qos=1)
    assert ops.disconnected.wait(20), "a 10 MB publish was accepted"
    # A 64 KiB crop plus the event around it is delivered intact.
    big = bytes(range(256)) * (64 * 1024 // 256) + b"e" * 2048
    assert len(big) < MAX_PACKET_BYTES
    assert not gw_a.publish("edgepost/v1/gw-a/event/vehicle_passage", big).is_failure
    assert sub.wait_messages(1)
    assert sub.messages[0].payload == big
    # The refused command never reached the gateway: a later one does, and alone.
    assert not gw_a.publish("edgepost/v1/gw-a/cmd/marker", b"m").is_failure
    assert gw_a.wait_messages(1)
    assert gw_a.topics() == ["edgepost/v1/gw-a/cmd/marker"]


def test_generated_conf_settings(site: Path, broker: LocalMosquitto) -> None:
    conf = (site / "broker" / "edgepost.conf").read_text().splitlines()
    for line in ("use_username_as_clientid true", "set_tcp_nodelay true", "tls_version tlsv1.2",
                 f"max_packet_size {MAX_PACKET_BYTES}"):
        assert line in conf, line
