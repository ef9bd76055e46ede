"""`edgepost provision central NAME`: the centre's identity, enforced by a real mosquitto running
the generated configuration. The centre reads everything (its own ingest stores a gateway's
event through the shared subscription, with the generated certificate) and may write only
commands and escalation notices.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from central.config import AlarmsConfig, CentralConfig
from central.ingest import IngestService
from central.store import open_store
from gateway.broker import LocalMosquitto
from gateway.events import Event, Topics, VehiclePassage, encode
from provisioning.acl import ESCALATION_TOPIC
from tests.provisioning.brokerkit import Client, connect, make_site, module_broker


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("prov-central") / "site", ["gw-a"], centrals=["central-a"])


broker = module_broker()


def test_the_acl_grants_the_centre_exactly_its_rights(site: Path, broker: LocalMosquitto) -> None:
    acl = (site / "broker" / "acl").read_text()
    block = acl.split("# central station central-a", 1)[1]
    assert block.strip().splitlines()[1:] == [
        "user central-a", "topic read edgepost/v1/#", "topic write edgepost/v1/+/cmd/#",
        f"topic write {ESCALATION_TOPIC}"]
    assert AlarmsConfig().escalation_topic == ESCALATION_TOPIC, "ACL and the centre's default agree"


def test_the_centre_sends_commands_and_escalations_and_nothing_else(
        site: Path, broker: LocalMosquitto, clients: list[Client]) -> None:
    gw = connect(site, broker, clients, "gw-a")
    gw.subscribe("edgepost/v1/gw-a/cmd/#")
    centre = connect(site, broker, clients, "central-a", "subscribers")
    centre.subscribe(ESCALATION_TOPIC)  # reading its own notices is not granted: nothing arrives
    assert not centre.publish("edgepost/v1/gw-a/cmd/ping", b"{}").is_failure
    assert gw.wait_messages(1) and gw.topics() == ["edgepost/v1/gw-a/cmd/ping"]
    assert not centre.publish(ESCALATION_TOPIC, b"{}").is_failure
    for topic in ("edgepost/v1/gw-a/event/vehicle_passage", "edgepost/v1/gw-a/state",
                  "edgepost/v1/gw-a/health", "edgepost/v1/gw-a/reply/ping",
                  "edgepost/central/other", "elsewhere/topic"):
        rc = centre.publish(topic, b"forged")
        assert rc.value == 135, (topic, rc)  # Not authorized


def test_the_centre_ingests_with_its_generated_identity(site: Path, broker: LocalMosquitto,
                                                       clients: list[Client], tmp_path: Path) -> None:
    d = site / "subscribers" / "central-a"
    cfg = CentralConfig.model_validate({
        "broker": {"port": broker.port, "client_id": "central-a", "ca_file": str(d / "ca.pem"),
                   "certfile": str(d / "central-a.pem"), "keyfile": str(d / "central-a.key")},
        "database": {"url": f"sqlite:///{tmp_path / 'c.sqlite3'}"}, "web": {"enabled": False}})
    store = open_store(cfg.database.url)
    store.migrate()
    ingest = IngestService(cfg, store).start()
    try:
        assert ingest.subscribed.wait(10), broker.log_text()[-2000:]
        gw = connect(site, broker, clients, "gw-a")
        ev = Event.new(VehiclePassage(plate="浙A00001")).with_seq(1)
        assert not gw.publish(Topics("gw-a").event(ev.type), encode(ev)).is_failure
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ingest.stored < 1:
            time.sleep(0.05)  # polling the ingest's counter with a deadline
        assert store.event_ids() == [ev.id]
    finally:
        ingest.stop()
        store.close()
