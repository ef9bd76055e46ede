"""Alert levels in the running gateway: cmd/level over the real broker arms the heightened rule
set on the next frame, without restarting the camera, and the retained state says so."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.broker import LocalMosquitto
from gateway.service.gateway import GatewayService
from tests.clips.operator import Operator, wait_commands_ready
from tests.conftest import Collector, make_config
from tests.vision.conftest import PERSON_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir


def hall_camera() -> dict:
    """The person video at its own pace; the whole view is a zone armed only when heightened."""
    shared = shared_dir()
    return {"source": {"uri": str(shared / PERSON_VIDEO), "pacing": "realtime"},
            "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS)},
            "schedule": {"motion_interval_s": 0.5},
            "rules": {"classes": ["person"], "enter_exit": False,
                      "zones": [{"name": "hall", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]],
                                 "intrusion": True, "levels": ["heightened"]}]}}


def states(c: Collector) -> list[dict]:
    return [m.document for m in c.of_kind("state")]


def test_level_by_command_arms_the_zone_on_the_next_frame_and_is_in_state(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    sub = Collector(broker.port, include_status=True).start()
    cfg = make_config(tmp_path, broker.port, site={"levels": ["normal", "heightened"]},
                      cameras={"hall": hall_camera()})
    loaded = cfg.model_dump()
    service = GatewayService(cfg)
    service.start()
    operator = Operator(broker.port)
    try:
        assert sub.wait_for(lambda c: any(s.get("online") for s in states(c)), 10)
        assert states(sub)[-1]["level"] == {"level": "normal", "source": "default"}
        wait_commands_ready(service)
        camera = service.cameras[0]
        # The person walks in at ~6.5 s and stands there: wait until the camera tracks them.
        deadline = time.monotonic() + 30
        while not (camera.pipeline and camera.pipeline.health()["tracks_confirmed"] >= 1):
            assert time.monotonic() < deadline, "the camera never confirmed the person"
            time.sleep(0.1)
        assert not [m for m in sub.events if m.event.type.label == "zone_intrusion"], \
            "the zone is for the heightened level only"
        pipeline, frames_before = camera.pipeline, camera.pipeline.health()["frames"]
        reply = operator.command("level", {"level": "heightened", "by": "duty officer"})
        assert reply["ok"] and reply["level"] == "heightened" and reply["source"] == "operator"
        assert sub.wait_for(lambda c: any(m.event.type.label == "zone_intrusion"
                                          for m in c.events), 10), "no intrusion once heightened"
        intrusion = next(m.event for m in sub.events if m.event.type.label == "zone_intrusion")
        assert intrusion.body.zone == "hall" and intrusion.body.cls == "person"
        assert camera.pipeline is pipeline and pipeline.level == "heightened"  # no restart
        assert pipeline.health()["frames"] > frames_before
        assert sub.wait_for(lambda c: states(c)[-1].get("level", {}).get("level") == "heightened",
                            5), "the retained state does not show the new level"
        assert states(sub)[-1]["level"]["by"] == "duty officer"
        bad = operator.command("level", {"level": "panic"})
        assert not bad["ok"] and "normal" in bad["error"] and "heightened" in bad["error"]
        assert service.config.model_dump() == loaded  # the loaded configuration is untouched
    finally:
        operator.close()
        service.stop()
        sub.stop()
