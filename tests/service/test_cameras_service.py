"""Cameras inside the running gateway: vision results reach a real broker as protocol events."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.events import Direction, Format, load_document
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config
from tests.vision.conftest import CAR_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir

ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


def lane_camera(model: str) -> dict:
    shared = shared_dir()
    return {"source": {"uri": str(shared / CAR_VIDEO), "pacing": "fast"},
            "detector": {"model": model, "labels": str(shared / SSD_LABELS), "min_score": 0.4},
            "schedule": {"motion_interval_s": 0.25},
            "rules": {"classes": ["car"], "class_aliases": ALIASES,
                      "lines": [{"name": "gate", "a": [0, 0.5], "b": [1, 0.5],
                                 "inbound_side": [0.5, 0]}]},
            "crops": {"enabled": True, "max_bytes": 6000}}


def wait(cond, timeout: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(cond())


def test_line_crossings_arrive_at_the_broker(broker: LocalMosquitto, tmp_path: Path) -> None:
    sub = Collector(broker.port, include_status=True).start()
    cfg = make_config(tmp_path, broker.port, health={"interval_s": 0.5})
    cfg = cfg.model_copy(update={"cameras": make_config(
        tmp_path, broker.port, cameras={"lane": lane_camera(str(shared_dir() / SSD_MODEL))}).cameras})
    service = GatewayService(cfg)
    service.start()
    try:
        assert wait(lambda: service.cameras[0].finished.is_set())
        assert sub.wait_for(lambda c: sum(m.event.type.label == "line_crossing"
                                          for m in c.events) >= 4, 20)
        crossings = [m.event.body for m in sub.events if m.event.type.label == "line_crossing"]
        assert [c.direction for c in crossings] == [Direction.INBOUND, Direction.OUTBOUND,
                                                    Direction.INBOUND, Direction.OUTBOUND]
        assert all(c.camera == "lane" and c.cls == "car" and c.line == "gate" for c in crossings)
        assert all(c.crop is not None and 0 < len(c.crop) <= 6000 for c in crossings)
        assert crossings[0].crop[:2] == b"\xff\xd8"  # a JPEG
        # Health on the wire reports the camera, with capture-to-spool latency.
        def final(m) -> bool:  # type: ignore[no-untyped-def]
            return m.document.get("cameras", {}).get("lane", {}).get("frames") == 377

        assert sub.wait_for(lambda c: any(final(m) for m in c.of_kind("health")), 10)
        cam = next(m.document for m in sub.of_kind("health") if final(m))["cameras"]
        assert cam["lane"]["detector_runs"] > 0 and cam["lane"]["spool_latency_ms"]["p50"] >= 0
        # cmd/snapshot answers with an annotated JPEG.
        reply = service.router._handlers["snapshot"]({"camera": "lane"})
        assert reply["jpeg"][:2] == b"\xff\xd8"
        with pytest.raises(ValueError, match="no camera"):
            service.router._handlers["snapshot"]({"camera": "nope"})
    finally:
        service.stop()
        sub.stop()


def test_tampered_model_is_a_fault_and_the_rest_keeps_running(
        broker: LocalMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    target = cache / SSD_MODEL
    target.parent.mkdir(parents=True)
    shutil.copy(shared_dir() / SSD_MODEL, target)
    with target.open("r+b") as fh:  # one flipped byte: not the model that was tested
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setenv("EDGEPOST_ASSET_CACHE", str(cache))
    sub = Collector(broker.port).start()
    cfg = make_config(tmp_path, broker.port, demo={"enabled": True, "interval_s": 0.05},
                      cameras={"lane": lane_camera("coco_ssd_mobilenet_v1")})
    service = GatewayService(cfg)
    service.start()
    try:
        assert sub.wait_for(lambda c: any(m.event.type.label == "device_fault" for m in c.events), 20)
        fault = next(m.event.body for m in sub.events if m.event.type.label == "device_fault")
        assert fault.component == "camera/lane" and fault.code == "start_failed"
        assert "SHA-256" in fault.message
        assert service.health.counters.get("camera.lane.start_failed") == 1
        n = len(sub.events)
        assert sub.wait_for(lambda c: len(c.events) >= n + 5, 10)  # demo events keep flowing
        assert service.health.report(0)["cameras"]["lane"]["error"].startswith("camera lane")
    finally:
        service.stop()
        sub.stop()


def test_snapshot_reply_in_json_is_base64() -> None:
    from gateway.events import dump_document

    doc = load_document(dump_document({"jpeg": b"\xff\xd8xyz"}, Format.JSON), Format.JSON)
    import base64

    assert base64.b64decode(doc["jpeg"]) == b"\xff\xd8xyz"


def test_classes_the_model_never_reports_are_a_warning_and_the_rest_still_counts(
        broker: LocalMosquitto, tmp_path: Path) -> None:
    # found by probing (session 42): a tracked class the model has no label for (a typo, or
    # another model's names) was silently never tracked
    sub = Collector(broker.port).start()
    camera = lane_camera(str(shared_dir() / SSD_MODEL))
    camera["rules"]["classes"] = ["car", "lorry"]  # COCO says truck; no alias gives lorry
    service = GatewayService(make_config(tmp_path, broker.port, cameras={"lane": camera}))
    service.start()
    try:
        assert sub.wait_for(lambda c: any(m.event.type.label == "line_crossing" for m in c.events), 30)
        faults = [m.event.body for m in sub.events if m.event.type.label == "device_fault"]
        assert [(f.component, f.code, f.severity.name) for f in faults] == [
            ("camera/lane", "classes_unknown", "WARNING")]
        assert "['lorry']" in faults[0].message and "class_aliases" in faults[0].message
        assert service.health.counters.get("camera.lane.classes_unknown") == 1
        assert "error" not in service.health.report(0)["cameras"]["lane"], "the camera runs"
    finally:
        service.stop()
        sub.stop()
