"""A damaged zones overlay does not keep a checkpoint dark (session 41).

The page rewrites ``edgepost.zones.toml`` in place on a Pi, so a power cut during a save can
leave it damaged. ``gateway run`` then runs on the main file's zones, says why in a
device_fault and a health counter, and the page's next save writes a sound overlay;
``check-config`` still refuses the damaged file. Real mosquitto, real camera pipeline, real page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.broker import LocalMosquitto
from gateway.config import ConfigError, load_config, load_service_config
from gateway.service.gateway import GatewayService
from tests.conftest import Collector
from tests.web.helpers import PASSWORD, gateway_toml
from tests.web.test_web_api import login

DAMAGED = b'[cameras.hall.rules]\nzones = [{name = "z", polygon = [[0.1, 0.1], [0.9\x00\x00\xff\xfe'


def _faults(c: Collector) -> list[dict[str, object]]:
    return [{"component": m.event.body.component, "code": m.event.body.code,
             "message": m.event.body.message}
            for m in c.events if m.event.type.label == "device_fault"]


def test_the_gateway_runs_on_the_main_zones_says_why_and_the_page_writes_a_sound_overlay(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    from tests.vision.conftest import PERSON_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir

    shared = shared_dir()
    main_zone = {"name": "gate", "polygon": [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]}
    cam = {"source": {"uri": str(shared / PERSON_VIDEO), "pacing": "realtime", "loop": True},
           "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS)},
           "schedule": {"motion_interval_s": 1.0},
           "rules": {"classes": ["person"], "zones": [main_zone]}}
    path = gateway_toml(tmp_path, broker.port, cameras={"hall": cam})
    overlay = tmp_path / "edgepost.zones.toml"
    overlay.write_bytes(DAMAGED)

    with pytest.raises(ConfigError, match=r"edgepost\.zones\.toml: cannot read: not UTF-8 text"):
        load_config(path)  # what check-config says
    config, why = load_service_config(path)
    assert why is not None and "edgepost.zones.toml" in why and "edgepost.toml alone" in why
    assert [z.name for z in config.cameras["hall"].rules.zones] == ["gate"]

    sub = Collector(broker.port).start()
    service = GatewayService(config, config_path=path)
    service.overlay_left_out(why)
    service.start()
    try:
        assert sub.wait_for(lambda c: any(f["code"] == "overlay_left_out" for f in _faults(c)), 15)
        (fault,) = [f for f in _faults(sub) if f["code"] == "overlay_left_out"]
        assert fault["component"] == "config" and "edgepost.zones.toml" in str(fault["message"])
        assert service.health.report(0)["counters"]["config.overlay_left_out"] == 1
        addr, port = service.web.ports[0]
        with httpx.Client(base_url=f"http://{addr}:{port}", timeout=10) as client:
            csrf = login(client, "tech", PASSWORD)
            zone = {"name": "floor", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.95]]}
            ok = client.put("/api/v1/cameras/hall/rules", headers={"X-CSRF-Token": csrf},
                            json={"zones": [zone]})
            assert ok.status_code == 200, ok.text
        assert service.overlay_left_out_because is None
        again = load_config(path)  # sound again: check-config and the next start agree
        assert [z.name for z in again.cameras["hall"].rules.zones] == ["floor"]
        assert [z.name for z in service.cameras[0].cfg.rules.zones] == ["floor"]
    finally:
        service.stop()
        sub.stop()


def test_gateway_run_starts_over_a_damaged_overlay_and_check_config_refuses_it(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    path = gateway_toml(tmp_path, broker.port, web={"enabled": False})
    (tmp_path / "edgepost.zones.toml").write_bytes(b"cameras = 5\n")
    check = subprocess.run([sys.executable, "-m", "gateway", "gateway", "check-config", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2 and "cameras must be tables" in check.stderr, check.stderr
    sub = Collector(broker.port).start()
    try:
        run = subprocess.run([sys.executable, "-m", "gateway", "gateway", "run", "-c", str(path),
                              "--duration", "3"], capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr
        assert "zones overlay left out" in run.stderr and "Traceback" not in run.stderr
        assert sub.wait_for(lambda c: any(f["code"] == "overlay_left_out" for f in _faults(c)), 15)
    finally:
        sub.stop()
    (tmp_path / "edgepost.toml").write_text("[mqtt]\nport = 'x'\n")  # the main file's own error
    run = subprocess.run([sys.executable, "-m", "gateway", "gateway", "run", "-c", str(path),
                          "--duration", "1"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "mqtt.port" in run.stderr, run.stderr
