"""A real district's inputs at the centre: grid cells, the plate-hash key, nodes, per-kind
retention and the command reply channel (both backends; the reply test on a real mosquitto)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from starlette.testclient import TestClient
from tests_central_helpers import passage, row

from central.config import EVENT_KINDS, CentralConfig, CentralConfigError, load_config
from central.decode import Reply, classify
from central.grid import GridFileError, load_grid
from central.privacy import PlateKeyError, load_plate_key, plate_digest
from central.service import CentralService
from central.store import Batch, Store
from central.web.app import build_app
from gateway.broker import LocalMosquitto
from gateway.events import (
    AlarmKind,
    AlarmState,
    BootCause,
    Event,
    Format,
    Location,
    SensorAlarm,
    Topics,
    VehiclePassage,
    dump_document,
    encode,
)
from gateway.events.bodies import NodeStatus
from gateway.plates.privacy import plate_digest as gateway_plate_digest
from webkit.auth import hash_password

DAY = 86_400_000
SIDE = 0.01  # grid cell size in degrees for the square test grid


def square_grid(path: Path, n: int = 4, lat0: float = 30.0, lon0: float = 120.0) -> Path:
    """An n x n grid of square cells ``r{row}c{col}`` written as GeoJSON ([lon, lat] positions)."""
    feats = []
    for r in range(n):
        for c in range(n):
            x0, y0 = lon0 + c * SIDE, lat0 + r * SIDE
            ring = [[x0, y0], [x0 + SIDE, y0], [x0 + SIDE, y0 + SIDE], [x0, y0 + SIDE], [x0, y0]]
            feats.append({"type": "Feature", "properties": {"id": f"r{r}c{c}"},
                          "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def login(c: TestClient, name: str, password: str) -> str:
    csrf = c.get("/api/v1/session").json()["csrf"]
    r = c.post("/api/v1/login", json={"name": name, "password": password}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def client_for(store: Store, cfg: CentralConfig, **kw: Any) -> TestClient:
    store.add_user("ops", hash_password("operator-pass"), "operator")
    return TestClient(build_app(cfg, store, **kw))


# --- grid cells ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(fr=st.floats(0.02, 0.98), fc=st.floats(0.02, 0.98), r=st.integers(0, 3), c=st.integers(0, 3))
def test_a_point_inside_a_cell_gets_that_cell(tmp_path_factory: pytest.TempPathFactory, fr: float,
                                              fc: float, r: int, c: int) -> None:
    grid = _grid(tmp_path_factory)
    lat, lon = 30.0 + (r + fr) * SIDE, 120.0 + (c + fc) * SIDE
    assert grid.cell_at(lat, lon) == f"r{r}c{c}"


_GRIDS: dict[str, Any] = {}


def _grid(factory: pytest.TempPathFactory) -> Any:
    if "g" not in _GRIDS:
        _GRIDS["g"] = load_grid(square_grid(factory.mktemp("grid") / "cells.geojson"))
    return _GRIDS["g"]


def test_outside_the_grid_edges_and_no_position(tmp_path: Path) -> None:
    grid = load_grid(square_grid(tmp_path / "cells.geojson"))
    assert len(grid) == 16
    assert grid.cell_at(29.99, 120.005) is None and grid.cell_at(None, None) is None
    # a point on the edge shared by r0c0 and r0c1 goes to the id that sorts first, every time
    assert grid.cell_at(30.005, 120.0 + SIDE) == "r0c0"
    # holes are honoured: a cell with a hole doesn't own the hole
    hole = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "ring", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [
                [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]}}]}
    (tmp_path / "hole.geojson").write_text(json.dumps(hole))
    g2 = load_grid(tmp_path / "hole.geojson")
    assert g2.cell_at(1, 1) == "ring" and g2.cell_at(5, 5) is None


@pytest.mark.parametrize(("doc", "message"), [
    ("not json", "is not JSON"),
    ({"type": "Feature"}, "FeatureCollection"),
    ({"type": "FeatureCollection", "features": []}, "no cells"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}, "no cell id"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "a"},
      "geometry": {"type": "Point", "coordinates": [0, 0]}}]}, "not a Polygon"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "bow"},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]},
     "not a valid polygon"),
])
def test_a_bad_grid_file_gets_one_clear_error(tmp_path: Path, doc: Any, message: str) -> None:
    p = tmp_path / "bad.geojson"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(GridFileError, match=message):
        load_grid(p)
    with pytest.raises(GridFileError, match="cannot read"):
        load_grid(tmp_path / "missing.geojson")


def test_counts_per_cell_in_the_api(store: Store, tmp_path: Path,
                                    central_config: Callable[..., Any]) -> None:
    grid = load_grid(square_grid(tmp_path / "cells.geojson"))
    now = time.time_ns() // 1_000_000
    rows = [row("cp-1", i, VehiclePassage(plate=f"浙A0000{i}"), now - 1000 * i,
                Location(30.0 + 0.5 * SIDE, 120.0 + (0.5 + (i % 2)) * SIDE)) for i in range(1, 6)]
    rows.append(row("cp-1", 6, VehiclePassage(plate="浙A99999"), now, Location(31.0, 121.0)))  # outside
    for r in rows:
        r.cell = grid.cell_at(r.lat, r.lon)
    store.write(Batch(events=rows))
    c = client_for(store, central_config(1883, store.url), grid=grid)
    login(c, "ops", "operator-pass")
    body = c.get("/api/v1/cells?outline=1").json()
    assert body["grid"] is True
    assert [(x["cell"], x["n"]) for x in body["counts"]] == [("r0c0", 2), ("r0c1", 3)]
    assert body["counts"][0]["by_type"] == {"vehicle_passage": 2}
    assert len(body["cells"]) == 16 and body["cells"][0]["rings"][0][0] == [30.0, 120.0]
    assert "cells-table" in c.get("/counts").text


# --- plate-hash key -----------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1, max_size=12), key=st.binary(min_size=16, max_size=40))
def test_the_centre_hashes_a_plate_exactly_as_the_gateway(text: str, key: bytes) -> None:
    assert plate_digest(text, key, 16) == gateway_plate_digest(text, key, 16)


def test_search_by_clear_text_finds_passages_sent_hashed(store: Store, tmp_path: Path,
                                                        central_config: Callable[..., Any]) -> None:
    key = b"site-key-0123456789abcdef"
    (tmp_path / "plate.key").write_bytes(key + b"\n")
    h = gateway_plate_digest("浙A12345", key, 16)
    now = time.time_ns() // 1_000_000 - 60_000
    hashed = [row(f"cp-{i}", 1, VehiclePassage(plate_hash=h, plate_conf=0.9), now + i * 1000)
              for i in (2, 1)]
    clear = passage("cp-3", 1, "浙A12345", now + 3000)  # a site in clear mode: found as well
    other = row("cp-4", 1, VehiclePassage(plate_hash=gateway_plate_digest("浙A99999", key, 16)), now)
    store.write(Batch(events=[*hashed, clear, other]))
    cfg = central_config(1883, store.url, plates={"hash_key_file": str(tmp_path / "plate.key")})
    c = client_for(store, cfg)
    login(c, "ops", "operator-pass")
    r = c.get("/api/v1/plates?plate=浙A12345").json()
    assert r["query"]["hash_of_text"] == h.hex()
    assert sorted(p["device"] for p in r["passages"]) == ["cp-1", "cp-2", "cp-3"]
    points = c.get("/api/v1/trajectory?plate=浙a12345 ").json()["points"]  # as the gateway: strip, upper
    assert [p["device"] for p in points] == ["cp-1", "cp-2"], "clear text differs in case: hash only"
    # without the key the hashed passages can't be found by text
    c2 = TestClient(build_app(central_config(1883, store.url), store))
    login(c2, "ops", "operator-pass")
    assert [p["device"] for p in c2.get("/api/v1/plates?plate=浙A12345").json()["passages"]] == ["cp-3"]


def test_a_bad_plate_key_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "short.key").write_bytes(b"short")
    with pytest.raises(PlateKeyError, match="at least 16"):
        load_plate_key(tmp_path / "short.key")
    with pytest.raises(PlateKeyError, match="cannot read"):
        load_plate_key(tmp_path / "none.key")
    assert load_plate_key(_write(tmp_path / "k", b"  0123456789abcdef\n")) == b"0123456789abcdef"


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


# --- nodes --------------------------------------------------------------------------------
def test_nodes_appear_in_the_fleet_from_their_events_and_node_status(
        store: Store, central_config: Callable[..., Any]) -> None:
    now = time.time_ns() // 1_000_000 - 60_000
    store.write(Batch(events=[
        row("gw-1", 1, NodeStatus(node="n-7", boot_cause=BootCause.WATCHDOG, fw_version="1.4.0",
                                  interval_s=300), now),
        row("gw-1", 2, SensorAlarm(node="n-7", kind=AlarmKind.PIR, state=AlarmState.ACTIVE), now + 1000),
        row("gw-1", 3, SensorAlarm(node="n-2", kind=AlarmKind.SMOKE, state=AlarmState.ACTIVE), now + 500)]))
    # an older status arriving later does not overwrite the newer one
    store.write(Batch(events=[row("gw-1", 4, NodeStatus(node="n-7", fw_version="1.3.9"), now - 5000)]))
    c = client_for(store, central_config(1883, store.url))
    login(c, "ops", "operator-pass")
    fleet = {d["device"]: d for d in c.get("/api/v1/fleet").json()["devices"]}
    nodes = {n["node"]: n for n in fleet["gw-1"]["nodes"]}
    assert set(nodes) == {"n-2", "n-7"}
    assert nodes["n-7"]["fw_version"] == "1.4.0" and nodes["n-7"]["boot_cause"] == "watchdog"
    assert nodes["n-7"]["interval_s"] == 300 and nodes["n-7"]["last_type"] == "sensor_alarm"
    assert nodes["n-7"]["last_event_ms"] == now + 1000
    assert nodes["n-2"]["fw_version"] is None
    assert {(n["device"], n["node"]) for n in c.get("/api/v1/nodes").json()["nodes"]} == {
        ("gw-1", "n-2"), ("gw-1", "n-7")}


def test_one_gateway_naming_ever_new_nodes_cannot_grow_the_fleet_list(store: Store) -> None:
    # found by probing (session 42): every fleet view (and /metrics scrape) reads all node rows,
    # and nothing bounded how many nodes one gateway could name
    now = time.time_ns() // 1_000_000 - 60_000

    def alarm(device: str, seq: int, node: str) -> Any:
        return row(device, seq, SensorAlarm(node=node, kind=AlarmKind.PIR, state=AlarmState.ACTIVE),
                   now + seq)

    result = store.write(Batch(events=[alarm("gw-1", i, f"n-{i}") for i in range(1, 6)],
                               max_nodes_per_device=3))
    assert result.inserted == 5 and result.nodes_not_listed == 2, "every event is stored"
    result = store.write(Batch(events=[alarm("gw-1", 6, "n-1"), alarm("gw-1", 7, "n-9"),
                                       alarm("gw-2", 8, "n-1")], max_nodes_per_device=3))
    assert result.inserted == 3 and result.nodes_not_listed == 1
    nodes = {(n["device"], n["node"]): n for n in store.nodes()}
    assert set(nodes) == {("gw-1", "n-1"), ("gw-1", "n-2"), ("gw-1", "n-3"), ("gw-2", "n-1")}
    assert nodes[("gw-1", "n-1")]["last_event_ms"] == now + 6, "a listed node is still updated"


# --- retention ----------------------------------------------------------------------------
def test_retention_by_age_per_event_kind(store: Store, tmp_path: Path) -> None:
    now = time.time_ns() // 1_000_000
    old, mid, new = now - 40 * DAY, now - 10 * DAY, now - DAY
    events = [passage("cp-1", 1, "浙A00001", old), passage("cp-1", 2, "浙A00002", mid),
              passage("cp-1", 3, "浙A00003", new),
              row("gw-1", 1, SensorAlarm(node="n", kind=AlarmKind.PIR, state=AlarmState.ACTIVE), old),
              row("gw-1", 2, SensorAlarm(node="n", kind=AlarmKind.PIR, state=AlarmState.ACTIVE), mid),
              row("gw-1", 3, SensorAlarm(node="n", kind=AlarmKind.PIR, state=AlarmState.ACTIVE), new)]
    store.write(Batch(events=events))
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retention]\ndefault_days = 30\ndays = {sensor_alarm = 7}\n")
    policy = load_config(cfg).retention
    removed = store.apply_retention({k: now - policy.days_for(k) * DAY for k in EVENT_KINDS})
    left = {(r["device"], r["seq"]) for r in store._rows("SELECT device, seq FROM events")}
    assert left == {("cp-1", 2), ("cp-1", 3), ("gw-1", 3)}, removed
    assert removed["sensor_alarm"] == 1
    assert {a["device"] for a in store.alarms()} == {"gw-1"} and len(store.alarms()) == 1
    if store.kind == "postgresql":
        assert removed["whole"] >= 1, "the 40-day-old day went as a whole partition"
        assert all(p >= _partition_name(now - 30 * DAY) for p in store.partitions())  # type: ignore[attr-defined]


def _partition_name(ms: int) -> str:
    import datetime as dt
    return "events_" + dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y%m%d")


def test_retention_config_refuses_unknown_kinds(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retention]\ndays = {vehicles = 7}\n")
    with pytest.raises(CentralConfigError, match="unknown event kind 'vehicles'"):
        load_config(cfg)


# --- command reply channel ------------------------------------------------------------------
def test_a_command_from_the_ui_gets_its_reply_shown(broker: LocalMosquitto, store: Store, tmp_path: Path,
                                                    central_config: Callable[..., Any]) -> None:
    """The operator sends ``ping`` from the API; a gateway answers on reply/ping with the
    request's correlation data; the centre stores the reply and shows it beside the command.
    The same ingest puts the gateway's events in their grid cell."""
    gw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-9", protocol=mqtt.MQTTv5)
    seen: list[str] = []

    def on_cmd(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        seen.append(msg.topic)
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = msg.properties.CorrelationData
        c.publish(Topics("gw-9").reply("ping"), dump_document({"ok": True, "pong": True}, Format.CBOR),
                  qos=1, properties=props)

    gw.on_message = on_cmd
    gw.connect("127.0.0.1", broker.port)
    gw.subscribe(Topics("gw-9").cmd_filter, qos=1)
    gw.loop_start()
    cells = square_grid(tmp_path / "cells.geojson")
    cfg = central_config(broker.port, store.url, grid={"cells_file": str(cells)})
    service = CentralService(cfg)
    service.ingest.start()
    try:
        assert service.ingest.subscribed.wait(10)
        c = client_for(store, cfg, send_command=service.send_command)
        csrf = login(c, "ops", "operator-pass")
        r = c.post("/api/v1/devices/gw-9/cmd/ping", json={"n": 1}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        cid = r.json()["cid"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and c.get(f"/api/v1/commands/{cid}").json()["reply"] is None:
            time.sleep(0.05)  # polling the API for the stored reply, with a deadline
        got = c.get(f"/api/v1/commands/{cid}").json()
        assert got["reply"] == {"ok": True, "pong": True}, got
        assert got["actor"] == "ops" and got["args"] == {"n": 1} and seen == ["edgepost/v1/gw-9/cmd/ping"]
        assert c.get("/api/v1/commands").json()["replies"][0]["cid"] == cid
        assert "cmd-table" in c.get("/commands").text
        assert any(a["action"] == "command" and cid in a["detail"] for a in store.audit_log())
        ev = Event.new(VehiclePassage(plate="浙A55555"), loc=Location(30.0 + 1.5 * SIDE, 120.0 + 2.5 * SIDE))
        gw.publish(Topics("gw-9").event(ev.type), encode(ev.with_seq(1)), qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not c.get("/api/v1/cells").json()["counts"]:
            time.sleep(0.05)  # polling the API for the stored event, with a deadline
        assert c.get("/api/v1/cells").json()["counts"] == [
            {"cell": "r1c2", "n": 1, "by_type": {"vehicle_passage": 1}}]
    finally:
        service.ingest.stop()
        service.web_store.close()
        service.side_store.close()
        gw.loop_stop()
        gw.disconnect()


def test_a_command_is_audited_before_it_goes_out_and_nan_arguments_never_go(
        broker: LocalMosquitto, store: Store, tmp_path: Path,
        central_config: Callable[..., CentralConfig]) -> None:
    # found by probing (session 42): {"for_s": NaN} was published to the gateway, then the
    # archive's JSON column refused it on PostgreSQL: a 500, and a command sent but not audited
    from central.store import open_store

    audited_when_received: list[bool] = []
    reader = open_store(store.url)  # a connection of its own, for the gateway's thread
    gw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-8", protocol=mqtt.MQTTv5)

    def on_cmd(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        cid = msg.properties.CorrelationData.decode()
        audited_when_received.append(any(cid in a["detail"] for a in reader.audit_log()))

    gw.on_message = on_cmd
    gw.connect("127.0.0.1", broker.port)
    gw.subscribe(Topics("gw-8").cmd_filter, qos=1)
    gw.loop_start()
    service = CentralService(central_config(broker.port, store.url))
    service.ingest.start()
    try:
        assert service.ingest.subscribed.wait(10)
        c = client_for(store, service.cfg, send_command=service.send_command)
        csrf = login(c, "ops", "operator-pass")
        for body in (b'{"for_s": NaN}', b'{"for_s": Infinity}', b"[1]"):
            r = c.post("/api/v1/devices/gw-8/cmd/level", content=body,
                       headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
            assert r.status_code == 400 and "JSON object" in r.json()["error"], r.text
        r = c.post("/api/v1/devices/gw+8/cmd/level", json={}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400
        assert c.get("/api/v1/commands").json()["commands"] == [], "nothing refused was recorded"
        r = c.post("/api/v1/devices/gw-8/cmd/level", json={"level": "normal"},
                   headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not audited_when_received:
            time.sleep(0.05)  # waiting for the gateway's receipt, with a deadline
        assert audited_when_received == [True], "only the valid command went out, audited first"
    finally:
        service.ingest.stop()
        service.web_store.close()
        service.side_store.close()
        reader.close()
        gw.loop_stop()
        gw.disconnect()


def test_reply_classification() -> None:
    r = classify("edgepost/v1/gw-1/reply/ping", dump_document({"ok": True}, Format.CBOR), None, 5,
                 correlation=b"central-1-abc")
    assert isinstance(r, Reply) and r.correlation == "central-1-abc" and r.doc == {"ok": True}
    q = classify("edgepost/v1/gw-1/reply/ping", dump_document([1, 2], Format.CBOR), None, 5)
    assert not isinstance(q, Reply) and q.reason == "undecodable"  # type: ignore[union-attr]


def test_nodes_left_out_of_the_list_are_counted_when_a_batch_is_written_item_by_item(
        store: Store, central_config: Callable[..., Any]) -> None:
    # found by reading (session 43): the path that writes a batch the database refused one item
    # at a time counted what it stored but not the nodes it left out of the fleet list
    import dataclasses

    from central.ingest import IngestService

    now = time.time_ns() // 1_000_000 - 60_000
    alarms = [row("gw-1", i, SensorAlarm(node=f"n-{i}", kind=AlarmKind.PIR,
                                         state=AlarmState.ACTIVE), now + i) for i in range(1, 6)]
    refused = dataclasses.replace(alarms[0], seq=2**64, id=b"\x01" * 16)  # no database takes it
    ingest = IngestService(central_config(1, store.url), store)
    assert ingest._commit(Batch(events=[*alarms, refused], max_nodes_per_device=3))
    assert ingest.stored == 5 and ingest.quarantined["store_refused"] == 1
    assert ingest.nodes_not_listed == 2 and ingest.health()["nodes_not_listed"] == 2
