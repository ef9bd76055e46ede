"""The JSON API and its security (login, CSRF, roles) on both backends, through Starlette's TestClient."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests_central_helpers import passage, row

from central.decode import StatusDoc
from central.store import Batch, Store
from central.web.app import build_app
from gateway.events import ZoneIntrusion
from webkit.auth import hash_password


@pytest.fixture
def client(store: Store, central_config: Callable[..., Any]) -> TestClient:
    store.add_user("ops", hash_password("operator-pass"), "operator")
    store.add_user("view", hash_password("viewer-pass"), "viewer")
    cfg = central_config(1883, store.url)
    return TestClient(build_app(cfg, store, lambda: {"instance": "t", "database": {"ok": True},
                                                     "waiting": 0}))


def login(c: TestClient, name: str, password: str) -> str:
    csrf = c.get("/api/v1/session").json()["csrf"]
    r = c.post("/api/v1/login", json={"name": name, "password": password}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def test_reads_need_a_login_and_pages_redirect_to_it(client: TestClient) -> None:
    assert client.get("/api/v1/fleet").status_code == 401
    r = client.get("/fleet", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "Log in" in client.get("/login").text


def test_login_checks_the_password_and_csrf(client: TestClient) -> None:
    csrf = client.get("/api/v1/session").json()["csrf"]
    good = {"name": "ops", "password": "operator-pass"}
    assert client.post("/api/v1/login", json=good).status_code == 403, \
        "no CSRF token: refused before the password is looked at"
    r = client.post("/api/v1/login", json={**good, "password": "wrong"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401
    r = client.post("/api/v1/login", json={"name": "nobody", "password": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401
    login(client, "ops", "operator-pass")
    assert client.get("/api/v1/session").json()["user"] == {"name": "ops", "role": "operator"}


def test_operator_acknowledges_viewer_may_not(client: TestClient, store: Store) -> None:
    now = time.time_ns() // 1_000_000
    alarm = row("gw-a", 1, ZoneIntrusion(zone="shore", cls="person", track_id=1, crop=b"\xff\xd8x"), now)
    store.write(Batch(events=[alarm]))
    csrf = login(client, "view", "viewer-pass")
    alarms = client.get("/api/v1/alarms?open=1").json()["alarms"]
    assert [a["category"] for a in alarms] == ["intrusion"]
    aid = alarms[0]["id"]
    assert client.get(f"/api/v1/events/{aid}/crop").content == b"\xff\xd8x"
    assert client.post(f"/api/v1/alarms/{aid}/ack", headers={"X-CSRF-Token": csrf}).status_code == 403
    csrf = login(client, "ops", "operator-pass")
    r = client.post(f"/api/v1/alarms/{aid}/ack", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["alarm"]["acked_by"] == "ops"
    assert client.get("/api/v1/alarms?open=1").json()["alarms"] == []
    assert store.audit_log()[0]["action"] == "ack"


def test_a_body_over_the_cap_is_refused_before_it_fills_memory(client: TestClient) -> None:
    # found by probing (session 41): every JSON body was read whole, the login's by anyone
    from webkit.bodylimit import MAX_BODY_BYTES

    csrf = client.get("/api/v1/session").json()["csrf"]
    big = b'{"name": "ops", "password": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = client.post("/api/v1/login", content=big, headers={"X-CSRF-Token": csrf,
                                                            "Content-Type": "application/json"})
    assert r.status_code == 413 and "256 KiB" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"name": "ops", "password": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 1):
            yield b"y" * 4096
        yield b'"}'

    r = client.post("/api/v1/login", content=chunks(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 413 and "256 KiB" in r.json()["error"]
    login(client, "ops", "operator-pass")  # a body under the cap is served as before


def test_limits_are_held_to_one_to_the_maximum_on_both_backends(client: TestClient, store: Store) -> None:
    # found by probing (session 41): limit=-5 was a 500 on PostgreSQL ("LIMIT must not be
    # negative") and no limit at all on SQLite
    now = time.time_ns() // 1_000_000
    store.write(Batch(events=[row("gw-a", i, ZoneIntrusion(zone="shore", cls="person", track_id=i), now + i)
                              for i in (1, 2, 3)]))
    login(client, "view", "viewer-pass")
    for limit, n in (("-5", 1), ("0", 1), ("2", 2), ("", 3), ("99999999999999999999", 3)):
        r = client.get(f"/api/v1/alarms?limit={limit}")
        assert r.status_code == 200 and len(r.json()["alarms"]) == n, (limit, r.text)
    assert client.get("/api/v1/alarms?limit=many").status_code == 400


def test_any_query_value_is_an_answer_or_a_400_never_a_500(client: TestClient) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    # found by probing (session 41): a time beyond 64 bits reached SQLite as an OverflowError
    login(client, "view", "viewer-pass")
    value = st.integers(-(2**70), 2**70).map(str) | st.text(max_size=8)
    reads = [("/api/v1/alarms", "limit"), ("/api/v1/plates?plate=A1", "limit"),
             ("/api/v1/plates?plate=A1", "since"), ("/api/v1/plates?plate=A1", "until"),
             ("/api/v1/trajectory?plate=A1", "since"), ("/api/v1/counts", "since"),
             ("/api/v1/counts", "until"), ("/api/v1/cells", "until"), ("/api/v1/cells", "since"),
             ("/api/v1/commands", "limit"), ("/api/v1/quarantine", "limit")]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(read=st.sampled_from(reads), raw=value)
    def check(read: tuple[str, str], raw: str) -> None:
        path, name = read
        base, _, fixed = path.partition("?")
        params = dict(p.split("=") for p in fixed.split("&") if p)
        r = client.get(base, params={**params, name: raw})
        assert r.status_code in (200, 400), (path, name, raw, r.status_code, r.text[:200])
        if r.status_code == 400:  # and it says which parameter
            assert name in r.json()["error"], r.text

    check()
    for name, raw in (("since", str(2**63)), ("until", str(-(2**63) - 1))):
        r = client.get("/api/v1/counts", params={name: raw})
        assert r.status_code == 400 and "64-bit" in r.json()["error"], r.text


def test_plates_trajectory_counts_gaps_fleet_and_metrics(client: TestClient, store: Store) -> None:
    t0 = time.time_ns() // 1_000_000 - 600_000
    store.write(Batch(events=[passage("cp-2", 2, "浙A11111", t0 + 1000), passage("cp-1", 1, "浙A11111", t0),
                              passage("cp-3", 5, "浙A11111", t0 + 2000), passage("cp-3", 7, "浙B22222", t0)],
                      statuses=[StatusDoc("cp-1", "state", {"online": True}, t0),
                                StatusDoc("cp-1", "health", {"spool": {"depth": 4, "dropped": 1}}, t0)]))
    login(client, "view", "viewer-pass")
    assert len(client.get("/api/v1/plates?plate=浙A*").json()["passages"]) == 3
    assert client.get("/api/v1/plates").status_code == 400
    points = client.get("/api/v1/trajectory?plate=浙A11111").json()["points"]
    assert [p["device"] for p in points] == ["cp-1", "cp-2", "cp-3"]
    assert client.get("/api/v1/trajectory?plate=浙A*").status_code == 400
    assert sum(c["n"] for c in client.get("/api/v1/counts").json()["counts"]) == 4
    gaps = client.get("/api/v1/gaps").json()["gaps"]
    assert {(g["device"], g["first"], g["last"]) for g in gaps} == {
        ("cp-2", 1, 1), ("cp-3", 1, 4), ("cp-3", 6, 6)}
    fleet = {d["device"]: d for d in client.get("/api/v1/fleet").json()["devices"]}
    assert fleet["cp-1"]["online"] is True and fleet["cp-1"]["spool_depth"] == 4
    metrics = client.get("/metrics").text
    assert 'edgepost_device_spool_depth{device="cp-1"} 4.0' in metrics
    assert "edgepost_central_events_stored 4.0" in metrics


def test_one_device_with_an_absurd_health_figure_does_not_break_the_fleets_metrics(
        client: TestClient, store: Store) -> None:
    """A device sends what it sends: a spool depth of 2**1100 (CBOR carries integers of any
    size) used to raise OverflowError in /metrics, so no device's figures could be scraped."""
    t0 = time.time_ns() // 1_000_000
    store.write(Batch(statuses=[
        StatusDoc("cp-1", "health", {"spool": {"depth": 4, "dropped": 0}}, t0),
        StatusDoc("cp-9", "health", {"spool": {"depth": 2**1100, "dropped": 2**1100}}, t0)]))
    r = client.get("/metrics")
    assert r.status_code == 200
    assert 'edgepost_device_spool_depth{device="cp-1"} 4.0' in r.text
    assert 'edgepost_device_spool_depth{device="cp-9"}' not in r.text


def test_failed_logins_make_the_address_wait_and_are_counted(client: TestClient) -> None:
    # found by probing (session 42): every attempt was checked, without end
    csrf = client.get("/api/v1/session").json()["csrf"]
    for i in range(5):
        r = client.post("/api/v1/login", json={"name": "ops", "password": f"guess-{i}"},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 401
    r = client.post("/api/v1/login", json={"name": "ops", "password": "operator-pass"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 429, "the right password too waits its turn"
    # the wait is 2 s from the fifth attempt's start: 1 or 2 s are left, however slow the hash
    wait = r.headers["Retry-After"]
    assert wait in ("1", "2") and f"try again in {wait} s" in r.json()["error"]
    metrics = client.get("/metrics").text
    assert "edgepost_central_login_failed_total 5.0" in metrics
    assert "edgepost_central_login_refused_total 1.0" in metrics


def test_a_reset_demoted_or_removed_user_is_logged_out_at_the_next_request(
        client: TestClient, store: Store) -> None:
    # found by probing (session 42): the signed cookie kept its user and role for its whole
    # 12 h, whatever happened to the login meanwhile
    login(client, "ops", "operator-pass")
    assert client.get("/api/v1/fleet").status_code == 200
    store.add_user("ops", hash_password("a-new-password"), "operator")  # reset after a leak
    assert client.get("/api/v1/fleet").status_code == 401
    assert client.get("/api/v1/session").json()["user"] is None

    login(client, "ops", "a-new-password")
    store.add_user("ops", store.user("ops")["hash"], "viewer")  # demoted, same password
    assert client.get("/api/v1/fleet").status_code == 401
    login(client, "ops", "a-new-password")
    assert client.get("/api/v1/session").json()["user"] == {"name": "ops", "role": "viewer"}

    assert store.remove_user("ops") and not store.remove_user("ops")
    assert client.get("/api/v1/fleet").status_code == 401
    csrf = client.get("/api/v1/session").json()["csrf"]
    r = client.post("/api/v1/login", json={"name": "ops", "password": "a-new-password"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401


def test_central_user_remove_deletes_the_login_and_audits_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from central.store import open_store
    from gateway.cli.main import main

    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'[database]\nurl = "{db}"\n[web]\nsecret_file = "{tmp_path / "secret.key"}"\n')
    store = open_store(db)
    store.migrate()
    store.add_user("leaver", hash_password("leaver-password"), "operator")
    assert main(["central", "user", "remove", "leaver", "-c", str(cfg)]) == 0
    assert store.user("leaver") is None
    assert store.audit_log()[0]["action"] == "user remove"
    assert main(["central", "user", "remove", "leaver", "-c", str(cfg)]) == 1
    assert "no user 'leaver'; nothing changed" in capsys.readouterr().err


def test_pages_and_answers_refuse_framing_and_sniffing(client: TestClient, store: Store) -> None:
    # found by probing (session 42): no response said "not in a frame", and SameSite=Lax does
    # not keep a page on another port of the same host from framing the UI (clickjacking)
    now = time.time_ns() // 1_000_000
    alarm = row("gw-a", 1, ZoneIntrusion(zone="shore", cls="person", track_id=1, crop=b"\xff\xd8x"), now)
    store.write(Batch(events=[alarm]))
    for path in ("/login", "/api/v1/session", "/static/kit/kit.js"):
        h = client.get(path).headers
        assert h["X-Frame-Options"] == "DENY", path
        assert h["Content-Security-Policy"] == "frame-ancestors 'none'", path
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "same-origin"
    login(client, "view", "viewer-pass")
    aid = client.get("/api/v1/alarms?open=1").json()["alarms"][0]["id"]
    crop = client.get(f"/api/v1/events/{aid}/crop").headers
    assert crop["Content-Security-Policy"] == "default-src 'none'", "a crop keeps its own, stricter one"
    assert crop["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_unreachable_archive_is_a_503_saying_so_and_metrics_still_answer(
        backend: str, tmp_path: Path, central_config: Callable[..., Any]) -> None:
    # found by probing (session 42): with the database away every page answered a bare
    # "Internal Server Error" (500), /metrics too
    from central.store import open_store
    from gateway.broker import free_port

    port = free_port()  # nothing listens there
    url = (f"postgresql://postgres@127.0.0.1:{port}/archive" if backend == "postgresql"
           else f"sqlite:///{tmp_path / 'no-such-folder' / 'central.sqlite3'}")
    store = open_store(url)
    c = TestClient(build_app(central_config(1883, url), store, lambda: {
        "instance": "t", "database": {"ok": False}, "waiting": 3, "broker_connected": True}),
        raise_server_exceptions=False)
    csrf = c.get("/api/v1/session").json()["csrf"]
    r = c.post("/api/v1/login", json={"name": "ops", "password": "operator-pass"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["error"].startswith("the archive database cannot be reached now (")
    metrics = c.get("/metrics")
    assert metrics.status_code == 200
    assert "edgepost_central_archive_up 0.0" in metrics.text
    assert 'edgepost_central_waiting{instance="t"} 3.0' in metrics.text
    assert c.get("/api/v1/health").status_code == 200
