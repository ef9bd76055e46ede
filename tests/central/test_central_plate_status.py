"""Passages with no plate read at the centre (issue 11 item 4), on both backends: an absent
plate is an operator alarm (``no_plate``) with its vehicle crop, an unreadable one is stored
and shown but raises nothing, and the JSON API shows ``plate_status``.

The events go through the real codec and classifier (``tests_central_helpers.row``), the real
store (SQLite and a private PostgreSQL) and the real web app through Starlette's TestClient.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests_central_helpers import passage, row

import central.web
from central.decode import event_id_text
from central.store import Batch, Store
from central.web.app import build_app
from gateway.events import Direction, PlateStatus, VehiclePassage
from webkit.auth import hash_password

JPEG = b"\xff\xd8\xff\xe0vehicle"


@pytest.fixture
def client(store: Store, central_config: Callable[..., Any]) -> TestClient:
    store.add_user("ops", hash_password("operator-pass"), "operator")
    cfg = central_config(1883, store.url)
    c = TestClient(build_app(cfg, store, lambda: {"instance": "t", "database": {"ok": True}, "waiting": 0}))
    csrf = c.get("/api/v1/session").json()["csrf"]
    r = c.post("/api/v1/login", json={"name": "ops", "password": "operator-pass"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return c


def test_absent_plate_is_an_alarm_unreadable_is_stored(client: TestClient, store: Store) -> None:
    now = time.time_ns() // 1_000_000
    absent = row("cp-1", 1, VehiclePassage(vehicle_class="truck", camera="cam-lane", track_id=31,
                                           direction=Direction.INBOUND, plate_status=PlateStatus.ABSENT,
                                           crop=JPEG), now)
    unreadable = row("cp-1", 2, VehiclePassage(vehicle_class="car", camera="cam-lane", track_id=32,
                                               plate_status=PlateStatus.UNREADABLE, crop=JPEG), now + 1)
    preview = row("cp-1", 3, VehiclePassage(vehicle_class="car", camera="cam-lane", track_id=33, preview=True,
                                            plate_status=PlateStatus.ABSENT), now + 2)
    read = passage("cp-1", 4, "浙A12345", now + 3)
    store.write(Batch(events=[absent, unreadable, preview, read]))

    alarms = client.get("/api/v1/alarms?open=1").json()["alarms"]
    assert [(a["category"], a["summary"]) for a in alarms] == [
        ("no_plate", "truck with no plate at camera cam-lane, inbound")]
    aid = alarms[0]["id"]
    assert client.get(f"/api/v1/events/{aid}/crop").content == JPEG, "the operator sees the vehicle"

    ev = client.get(f"/api/v1/events/{aid}").json()
    assert ev["body"]["plate_status"] == "absent" and ev["type"] == "vehicle_passage"
    assert ev["has_crop"] is True
    others = {r.seq: r for r in (unreadable, preview, read)}
    shown = {seq: client.get(f"/api/v1/events/{event_id_text(r.id)}").json() for seq, r in others.items()}
    assert shown[2]["body"]["plate_status"] == "unreadable" and shown[2]["has_crop"] is True
    assert shown[3]["body"]["plate_status"] == "absent" and shown[3]["body"]["preview"] is True
    assert "plate_status" not in shown[4]["body"] and shown[4]["plate"] == "浙A12345"


def test_alarm_page_lists_categories_from_the_data(client: TestClient) -> None:
    """The page has no list of categories to extend: it shows whatever the API names."""
    web = Path(central.web.__file__).parent
    page = client.get("/alarms").text
    script = (web / "static" / "central.js").read_text(encoding="utf-8")
    for known in ("intrusion", "watch_list", "loitering", "sensor_alarm"):
        assert known not in page and known not in script
    assert "a.category" in script
