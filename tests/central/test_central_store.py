"""The archive's interface, run on both backends (SQLite and a private PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from tests_central_helpers import passage, row

from central.decode import StatusDoc
from central.store import Batch, PlateQuery, Store
from gateway.events import Direction, VehiclePassage, ZoneIntrusion

HOUR = 3_600_000


def test_a_batch_is_stored_once_and_duplicates_are_counted(store: Store) -> None:
    rows = [passage("gw-a", i, f"京A{i:05d}") for i in range(1, 51)]
    first = store.write(Batch(events=rows))
    again = store.write(Batch(events=rows[:20]))
    assert (first.inserted, first.duplicates) == (50, 0)
    assert (again.inserted, again.duplicates) == (0, 20)
    assert store.totals()["events"] == 50
    assert sorted(store.event_ids()) == sorted(r.id for r in rows)


def test_alarms_are_kept_acknowledged_once_and_escalated_once(store: Store) -> None:
    now = time.time_ns() // 1_000_000
    intr = row("gw-res", 1, ZoneIntrusion(zone="shore", cls="person", track_id=3, crop=b"\xff\xd8jpeg"),
               now - 90_000)
    fresh = row("gw-res", 2, ZoneIntrusion(zone="shore", cls="person", track_id=4), now)
    store.write(Batch(events=[intr, fresh, passage("gw-res", 3, "京B12345")]))
    alarms = store.alarms(open_only=True)
    assert [a["category"] for a in alarms] == ["intrusion", "intrusion"]
    claimed = store.claim_escalations(now - 60_000, now)
    assert [a["id"] for a in claimed] == [alarms[1]["id"]], "only the 90 s old alarm escalates"
    assert store.claim_escalations(now - 60_000, now) == [], "an alarm escalates once"
    assert store.ack_alarm(intr.id, "op", now)
    assert not store.ack_alarm(intr.id, "op2", now), "a second acknowledgement changes nothing"
    assert store.alarm(intr.id)["acked_by"] == "op"  # type: ignore[index]
    assert store.crop(intr.id) == b"\xff\xd8jpeg"
    assert [a["summary"] for a in store.alarms(open_only=True)] == ["person in zone shore"]


def test_plate_search_exact_wildcard_and_hash(store: Store) -> None:
    hashed = row("gw-h", 9, VehiclePassage(plate_hash=bytes(range(16)), direction=Direction.OUTBOUND))
    store.write(Batch(events=[passage("gw-1", 1, "京A12345"), passage("gw-1", 2, "京A12999"),
                              passage("gw-2", 1, "沪B12345"), passage("gw-2", 2, "京A_2%45"), hashed]))
    assert [r["plate"] for r in store.plates(PlateQuery(text="京A12345"))] == ["京A12345"]
    assert sorted(r["plate"] for r in store.plates(PlateQuery(text="京A12*"))) == ["京A12345", "京A12999"]
    assert sorted(r["plate"] for r in store.plates(PlateQuery(text="*12345"))) == ["京A12345", "沪B12345"]
    assert [r["plate"] for r in store.plates(PlateQuery(text="京A?2%45"))] == ["京A_2%45"], \
        "LIKE's own symbols in a plate are literal"
    assert [r["device"] for r in store.plates(PlateQuery(plate_hash=bytes(range(16))))] == ["gw-h"]


def test_prefix_search_pages_newest_first(store: Store) -> None:
    t0 = time.time_ns() // 1_000_000 - 3 * HOUR
    store.write(Batch(events=[passage("gw-p", i, f"浙A1{i % 7:04d}" if i % 3 else f"苏B{i:05d}",
                                      t0 + i * 60_000) for i in range(1, 121)]))
    expected = [t0 + i * 60_000 for i in range(120, 0, -1) if i % 3][:25]
    assert [r["ts_ms"] for r in store.plates(PlateQuery(text="浙A1*", limit=25))] == expected


def test_trajectory_is_ordered_by_time_across_gateways(store: Store) -> None:
    t0 = time.time_ns() // 1_000_000 - 10 * 60_000
    # written out of order, on purpose
    store.write(Batch(events=[passage("cp-3", 5, "浙C77777", t0 + 200_000, Direction.OUTBOUND),
                              passage("cp-1", 9, "浙C77777", t0),
                              passage("cp-2", 4, "浙C77777", t0 + 100_000),
                              passage("cp-2", 5, "浙C00000", t0 + 150_000)]))
    traj = store.trajectory(PlateQuery(text="浙C77777"))
    assert [(r["device"], r["direction"]) for r in traj] == [
        ("cp-1", "inbound"), ("cp-2", "inbound"), ("cp-3", "outbound")]
    with pytest.raises(ValueError, match="one plate"):
        store.trajectory(PlateQuery(text="浙C*"))


def test_counts_per_checkpoint_and_hour(store: Store) -> None:
    base = (time.time_ns() // 1_000_000 // HOUR - 3) * HOUR
    store.write(Batch(events=[passage("cp-1", 1, "A1", base + 10), passage("cp-1", 2, "A2", base + 20),
                              passage("cp-1", 3, "A3", base + HOUR + 5, Direction.OUTBOUND),
                              passage("cp-2", 1, "A4", base + 30)]))
    counts = store.counts(base, base + 2 * HOUR)
    got = {(c["device"], c["hour_ms"], c["direction"]): c["n"] for c in counts}
    assert got == {("cp-1", base, "inbound"): 2, ("cp-2", base, "inbound"): 1,
                   ("cp-1", base + HOUR, "outbound"): 1}


def test_sequence_holes_close_when_the_missing_event_arrives(store: Store) -> None:
    store.write(Batch(events=[passage("gw-s", s, f"P{s}") for s in (1, 2, 5, 6, 9)]))
    holes = [(h["device"], h["first"], h["last"]) for h in store.seq_holes()]
    assert holes == [("gw-s", 3, 4), ("gw-s", 7, 8)]
    store.write(Batch(events=[passage("gw-s", 3, "P3"), passage("gw-s", 4, "P4")]))
    assert [(h["first"], h["last"]) for h in store.seq_holes("gw-s")] == [(7, 8)]


def test_fleet_from_state_health_and_events(store: Store) -> None:
    now = time.time_ns() // 1_000_000
    state = {"online": True, "ts": now, "boot_ts": now, "versions": {"edgepost": "0.1.0"},
             "config_hash": "0123456789abcdef"}
    health = {"ts": now, "spool": {"depth": 7, "dropped": 2}}
    store.write(Batch(events=[passage("gw-f", 1, "X1")],
                      statuses=[StatusDoc("gw-f", "state", state, now),
                                StatusDoc("gw-f", "health", health, now + 1),
                                StatusDoc("gw-g", "state", {**state, "online": False}, now)]))
    fleet = {d["device"]: d for d in store.fleet()}
    assert fleet["gw-f"]["online"] is True and fleet["gw-g"]["online"] is False
    assert (fleet["gw-f"]["spool_depth"], fleet["gw-f"]["dropped"]) == (7, 2)
    assert fleet["gw-f"]["version"] == "0.1.0" and fleet["gw-f"]["config_hash"] == "0123456789abcdef"
    assert (fleet["gw-f"]["lat"], fleet["gw-f"]["lon"]) == (30.1, 120.2)
    # the LWT turns it offline, health stays
    store.write(Batch(statuses=[StatusDoc("gw-f", "state", {**state, "online": False}, now + 5)]))
    fleet = {d["device"]: d for d in store.fleet()}
    assert fleet["gw-f"]["online"] is False and fleet["gw-f"]["spool_depth"] == 7


def test_users_and_audit(store: Store) -> None:
    store.add_user("alice", "hash1", "operator")
    store.add_user("alice", "hash2", "admin")
    assert store.user("alice") == {"name": "alice", "hash": "hash2", "role": "admin"}
    assert store.user("bob") is None
    store.audit("alice", "ack", "alarm x")
    assert store.audit_log()[0]["action"] == "ack"


def test_migrations_are_versioned_and_applied_once(store: Store) -> None:
    assert store.migrate() == [], "a second run applies nothing"


def test_postgres_partitions_by_day_and_retention_drops_them(pg_url: str) -> None:
    from central.store import open_store

    s = open_store(pg_url)
    s.migrate()
    day = 86_400_000
    today = time.time_ns() // 1_000_000 // day * day
    s.write(Batch(events=[passage("gw-p", 1, "P1", today - 3 * day + 5),
                          passage("gw-p", 2, "P2", today - 2 * day + 5),
                          passage("gw-p", 3, "P3", today + 5)]))
    parts = s.partitions()  # type: ignore[attr-defined]
    assert len(parts) == 3
    assert s.drop_before(today - day) == 2
    assert len(s.partitions()) == 1 and s.totals()["events"] == 1  # type: ignore[attr-defined]
    s.close()
