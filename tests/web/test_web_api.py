"""The gateway page's API on a real running gateway (real mosquitto, real HTTP over loopback).

Login and roles, CSRF, the zones overlay (validated, saved beside the config, swapped in live,
config hash in the retained state), recent events, and ``/metrics`` parsed by the Prometheus
text parser.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.broker import LocalMosquitto
from gateway.config import ConfigError, load_config
from tests.conftest import Collector
from tests.web.helpers import PASSWORD, VIEWER_PASSWORD, gateway_toml, running


def login(client: httpx.Client, name: str, password: str) -> str:
    r = client.post("/api/v1/login", json={"name": name, "password": password},
                    headers={"X-CSRF-Token": client.get("/api/v1/session").json()["csrf"]})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def test_page_off_by_default_and_loopback_only() -> None:
    from gateway.config.web import WebConfig

    cfg = WebConfig()
    assert cfg.enabled is False and cfg.bind == ("127.0.0.1",)
    with pytest.raises(ValueError, match="not an IP address"):
        WebConfig(bind=("eth0",))
    with pytest.raises(ValueError, match="list it alone"):
        WebConfig(bind=("0.0.0.0", "127.0.0.1"))


@pytest.mark.timeout(120)
def test_login_roles_events_metrics(broker: LocalMosquitto, tmp_path: Path) -> None:
    path = gateway_toml(tmp_path, broker.port, demo={"enabled": True, "interval_s": 0.1})
    with running(path) as (service, base), httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"
        for page in ("/login", "/metrics", "/api/v1/session"):  # no framing (session 42)
            headers = client.get(page).headers
            assert headers["X-Frame-Options"] == "DENY", page
            assert headers["Content-Security-Policy"] == "frame-ancestors 'none'", page
        assert client.get("/api/v1/status").status_code == 401
        assert client.get("/metrics").status_code == 401
        csrf = client.get("/api/v1/session").json()["csrf"]
        bad = client.post("/api/v1/login", json={"name": "tech", "password": "wrong-password"},
                          headers={"X-CSRF-Token": csrf})
        assert bad.status_code == 401
        no_csrf = client.post("/api/v1/login", json={"name": "tech", "password": PASSWORD})
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]
        login(client, "tech", PASSWORD)
        status = client.get("/api/v1/status").json()
        assert status["device"] == "gw-web" and status["config_hash"] == service.config_hash
        assert status["health"]["spool"]["depth"] >= 0 and "uplink" in status["health"]
        # demo events pass the producer's observer into the page's ring, newest first
        deadline_ok = False
        for _ in range(50):
            evs = client.get("/api/v1/events?limit=5").json()["events"]
            if len(evs) == 5:
                deadline_ok = True
                break
            service._halt.wait(0.1)
        assert deadline_ok, "the page saw no demo events"
        assert evs[0]["seq"] > evs[-1]["seq"]
        # /metrics: the session works, and so does HTTP Basic (a Prometheus scrape)
        text = httpx.get(base + "/metrics", auth=("tech", PASSWORD), timeout=10).text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["edgepost_gateway_spool_depth"].samples[0].value >= 0
        assert "edgepost_gateway_uplink_connected" in families
        assert "edgepost_gateway_uptime_s" in families
        assert httpx.get(base + "/metrics", auth=("tech", "nope-nope"), timeout=10).status_code == 401
        assert client.get("/metrics").status_code == 200

    # a viewer may look but not change zones
    with running(path) as (service, base), httpx.Client(base_url=base, timeout=10) as client:
        # a login body of 8 MB from anyone is refused unread (webkit/bodylimit.py), on the real server
        csrf = client.get("/api/v1/session").json()["csrf"]
        huge = client.post("/api/v1/login", content=b"{" + b" " * (8 << 20) + b"}",
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        assert huge.status_code == 413 and "KiB" in huge.json()["error"]
        csrf = login(client, "guest", VIEWER_PASSWORD)
        r = client.put("/api/v1/cameras/none/rules", json={"zones": []},
                       headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and "operator" in r.json()["error"]


@pytest.mark.timeout(120)
def test_failed_logins_and_scrapes_make_the_address_wait(broker: LocalMosquitto, tmp_path: Path) -> None:
    # found by probing (session 42): the page checked every attempt (form or HTTP Basic) without end
    path = gateway_toml(tmp_path, broker.port)
    with running(path) as (service, base), httpx.Client(base_url=base, timeout=10) as client:
        csrf = client.get("/api/v1/session").json()["csrf"]
        for i in range(3):
            r = client.post("/api/v1/login", json={"name": "tech", "password": f"guess-{i}"},
                            headers={"X-CSRF-Token": csrf})
            assert r.status_code == 401
        assert client.get("/metrics", auth=("tech", PASSWORD)).status_code == 200, \
            "a right login clears the count"
        for i in range(5):
            assert client.get("/metrics", auth=("tech", f"guess-{i}")).status_code == 401
        r = client.post("/api/v1/login", json={"name": "tech", "password": PASSWORD},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 429 and r.headers["Retry-After"] in ("1", "2")
        assert client.get("/metrics", auth=("tech", PASSWORD)).status_code == 429
        counters = service.health.report(0)["counters"]
        assert counters["web.login_failed"] == 8 and counters["web.login_refused"] == 2


@pytest.mark.timeout(120)
def test_a_changed_users_file_ends_the_sessions_it_no_longer_allows(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    # found by probing (session 42): a login taken out of the users file kept its session (and
    # role) until the cookie expired, 12 h later
    from gateway.web.users import render_users
    from webkit.auth import hash_password

    path = gateway_toml(tmp_path, broker.port)
    users = tmp_path / "web-users.toml"
    with running(path) as (_service, base), httpx.Client(base_url=base, timeout=10) as tech, \
            httpx.Client(base_url=base, timeout=10) as guest:
        login(tech, "tech", PASSWORD)
        login(guest, "guest", VIEWER_PASSWORD)
        assert tech.get("/api/v1/status").status_code == 200
        users.write_text(render_users({"tech": {"hash": hash_password(PASSWORD), "role": "admin"}}))
        assert guest.get("/api/v1/status").status_code == 401, "guest was taken out"
        assert tech.get("/api/v1/status").status_code == 401, "tech's password hash was renewed"
        login(tech, "tech", PASSWORD)
        assert tech.get("/api/v1/status").status_code == 200
        users.write_bytes(b"\xff\xfe garbage")
        r = tech.get("/api/v1/status")
        assert r.status_code == 503 and "not UTF-8" in r.json()["error"], \
            "a damaged users file is never read as 'the old cookie is still good'"


def test_logout_ends_every_copy_of_the_session_cookie(broker: LocalMosquitto, tmp_path: Path) -> None:
    # found by probing (session 43): logout only cleared the browser's own cookie; a copy taken
    # earlier (a shared laptop, a proxy log) stayed logged in for the rest of the 12 h
    path = gateway_toml(tmp_path, broker.port)
    with running(path) as (_service, base), httpx.Client(base_url=base, timeout=10) as tech, \
            httpx.Client(base_url=base, timeout=10) as copy:
        csrf = login(tech, "tech", PASSWORD)
        cookie = next(iter(tech.cookies.jar))
        copy.cookies.set(cookie.name, cookie.value or "")
        assert copy.get("/api/v1/status").status_code == 200, "the copy works while logged in"
        first = cookie.value
        csrf = login(tech, "tech", PASSWORD)  # a new login replaces the session...
        assert copy.get("/api/v1/status").status_code == 401, "...and ends the one before"
        copy.cookies.clear()
        copy.cookies.set(cookie.name, next(iter(tech.cookies.jar)).value or "")
        assert next(iter(tech.cookies.jar)).value != first
        assert copy.get("/api/v1/status").status_code == 200
        assert tech.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert copy.get("/api/v1/status").status_code == 401, "logout ends the copy too"
        assert tech.get("/api/v1/status").status_code == 401
        login(tech, "tech", PASSWORD)
        assert tech.get("/api/v1/status").status_code == 200, "a new login is not affected"


def test_revoked_sessions_are_kept_as_long_as_a_cookie_can_live_and_bounded() -> None:
    from webkit.session_check import RevokedSessions

    now = [1000.0]
    revoked = RevokedSessions(max_age_s=60, limit=3, clock=lambda: now[0])
    revoked.revoke("a")
    now[0] += 30
    revoked.revoke("b")
    assert "a" in revoked and "b" in revoked and "c" not in revoked
    now[0] += 30  # a's cookie can no longer be valid: forgotten; b's still can
    assert "a" not in revoked and "b" in revoked and len(revoked) == 1
    for sid in "cdef":
        revoked.revoke(sid)
    assert len(revoked) == 3 and "b" not in revoked and revoked.dropped == 2


def test_overlay_is_merged_and_must_hold_only_zones(tmp_path: Path) -> None:
    cam = {"source": {"uri": str(tmp_path / "x.mp4")}, "detector": {"model": "m.tflite"}}
    path = gateway_toml(tmp_path, 1883, cameras={"gate": cam})
    overlay = tmp_path / "edgepost.zones.toml"
    overlay.write_text('[cameras.gate.rules]\nzones = [{name = "z", polygon = [[0,0],[1,0],[1,1]]}]\n')
    cfg = load_config(path)
    assert [z.name for z in cfg.cameras["gate"].rules.zones] == ["z"]
    overlay.write_text('[mqtt]\nport = 1\n')
    with pytest.raises(ConfigError, match=r"only \[cameras.<name>.rules\] zones and lines"):
        load_config(path)
    overlay.write_text('[cameras.gate.rules]\nzones = [{name = "z", polygon = [[0,0],[1,0]]}]\n')
    with pytest.raises(ConfigError, match=r"(?s)edgepost.zones.toml: 1 configuration error.*polygon"):
        load_config(path)
    overlay.write_text('[cameras.other.rules]\nzones = []\n')
    with pytest.raises(ConfigError, match="camera 'other' is not in the main configuration"):
        load_config(path)


def test_overlay_merge_leaves_the_main_mapping_alone() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from gateway.config.overlay import merge_overlay

    point = st.tuples(st.floats(0, 1), st.floats(0, 1)).map(list)
    zones = st.lists(st.fixed_dictionaries({"name": st.text(min_size=1, max_size=8),
                                            "polygon": st.lists(point, min_size=3, max_size=6)}),
                     max_size=4)

    @given(main_zones=zones, new_zones=zones)
    def check(main_zones: list, new_zones: list) -> None:
        raw = {"cameras": {"c": {"rules": {"zones": main_zones, "classes": ["person"]}}}}
        before = repr(raw)
        merged = merge_overlay(raw, {"cameras": {"c": {"rules": {"zones": new_zones}}}}, "o")
        assert repr(raw) == before
        assert merged["cameras"]["c"]["rules"] == {"zones": new_zones, "classes": ["person"]}

    check()


def test_users_file_round_trips_hashes_only() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from gateway.web.users import UsersFileError, parse_users, render_users

    names = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=12)

    @settings(max_examples=50)
    @given(users=st.dictionaries(names, st.sampled_from(["viewer", "operator", "admin"]), max_size=4))
    def check(users: dict[str, str]) -> None:
        table = {n: {"hash": f"$argon2id$v=19$x${i}", "role": r} for i, (n, r) in enumerate(users.items())}
        assert parse_users(render_users(table), "f") == table

    check()
    with pytest.raises(UsersFileError, match="argon2 hash"):
        parse_users('[users.a]\nhash = "plain"\n', "f")
    with pytest.raises(UsersFileError, match=r"users must be a table of \[users.<name>\]"):
        parse_users("users = 5\n", "f")


def test_a_damaged_users_file_is_a_users_file_error_naming_it(tmp_path: Path) -> None:
    # the page answers 503 with this text (a UnicodeDecodeError made it a 500 before)
    from gateway.web.users import Users, UsersFileError, render_users

    path = tmp_path / "web-users.toml"
    path.write_text(render_users({"tech": {"hash": "$argon2id$v=19$x$1", "role": "admin"}}))
    users = Users(path)
    assert users.get("tech") is not None and users.get("nobody") is None
    path.write_bytes(b"\xff\xfe\x00 garbage")
    with pytest.raises(UsersFileError, match=r"web-users.toml: cannot read: not UTF-8 text"):
        users.get("tech")


@pytest.mark.timeout(120)
def test_zone_edit_is_validated_saved_beside_and_swapped_in(broker: LocalMosquitto, tmp_path: Path) -> None:
    from tests.vision.conftest import PERSON_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir

    shared = shared_dir()
    cam = {"source": {"uri": str(shared / PERSON_VIDEO), "pacing": "realtime", "loop": True},
           "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS)},
           "schedule": {"motion_interval_s": 1.0},
           "rules": {"classes": ["person"]}}
    path = gateway_toml(tmp_path, broker.port, cameras={"hall": cam})
    path.chmod(0o600)
    main_text = path.read_text()
    sub = Collector(broker.port, include_status=True).start()
    try:
        with running(path) as (service, base), httpx.Client(base_url=base, timeout=10) as client:
            old_hash = service.config_hash
            csrf = login(client, "tech", PASSWORD)
            headers = {"X-CSRF-Token": csrf}
            bad = client.put("/api/v1/cameras/hall/rules", headers=headers,
                             json={"zones": [{"name": "z", "polygon": [[0, 0], [1, 1]]}]})
            assert bad.status_code == 400 and "polygon" in bad.json()["error"]
            assert not (tmp_path / "edgepost.zones.toml").exists()
            zone = {"name": "floor", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.95], [0.1, 0.95]],
                    "intrusion": True}
            ok = client.put("/api/v1/cameras/hall/rules", headers=headers, json={"zones": [zone]})
            assert ok.status_code == 200, ok.text
            new_hash = ok.json()["config_hash"]
            assert new_hash != old_hash and service.config_hash == new_hash
            assert [z.name for z in service.cameras[0].cfg.rules.zones] == ["floor"]
            # the retained state says the new hash; the main file is untouched
            assert sub.wait_for(lambda c: any(m.document.get("config_hash") == new_hash
                                              for m in c.of_kind("state")), 10)
            assert path.read_text() == main_text and stat.S_IMODE(path.stat().st_mode) == 0o600
            overlay = tmp_path / "edgepost.zones.toml"
            assert stat.S_IMODE(overlay.stat().st_mode) == 0o600
            # the next start loads the same configuration
            from gateway.config import config_hash

            assert config_hash(load_config(path)) == new_hash
    finally:
        sub.stop()
