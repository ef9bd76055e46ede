"""A camera is unplugged and plugged back: the gateway notices, reopens it by itself, and
its health shows the failure and the reopen; the rest of the gateway keeps running.

Simulated rig: an HTTP MJPEG camera served by the suite (an IP camera whose cable is
pulled); a real rig: a USB/PoE camera behind the camera's power switch.
"""

from __future__ import annotations

import time

import pytest

CAR_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


def test_camera_unplug_and_replug_is_reopened(rig, node, gateway, events, strategy,
                                              record_property: pytest.RecordProperty) -> None:
    spec = rig.camera_spec("replug")
    if spec is None or spec.kind != "mjpeg":
        pytest.skip("the rig has no camera it can unplug (a camera with role replug, kind mjpeg)")
    cam = rig.make_mjpeg(spec)
    cam.plug()
    name = spec.name
    gateway.configure(cameras={name: {
        "source": {"uri": cam.uri, "reopen_initial_s": 0.2, "reopen_max_s": 1.0,
                   "read_timeout_s": 2.0},
        "detector": rig.detector(),
        "schedule": {"motion_interval_s": 1.0},
        "rules": {"classes": ["car"], "class_aliases": CAR_ALIASES}}})
    strategy.transition("node_asleep")

    def src(doc: dict) -> dict:
        return doc["cameras"][name]["source"]

    up = events.expect_health(lambda d: src(d)["frames"] >= 10, 30, "camera delivering frames")
    frames_before = src(up)["frames"]
    t_unplug = time.monotonic()
    cam.unplug()
    since = events.mark()
    down = events.expect_health(lambda d: src(d)["source_errors"] + src(d)["failed_opens"] >= 1,
                                10, "camera loss seen in health", since=since)
    assert src(down)["last_error"], "health does not say why the camera is gone"
    time.sleep(max(0.0, rig.spec.timing.camera_off_s - (time.monotonic() - t_unplug)))
    node_frames = len(node.sent_seqs())
    cam.plug()
    since = events.mark()
    back = events.expect_health(
        lambda d: src(d)["reopens"] >= 1 and src(d)["frames"] > frames_before + 10, 20,
        "camera reopened and delivering frames again", since=since)
    record_property("reopen_s", round(time.monotonic() - t_unplug, 2))
    record_property("camera_source_health", src(back))
    assert back["cameras"][name]["source_reopens"] >= 1
    assert not back["cameras"][name].get("error"), back["cameras"][name]
    assert cam.connections >= 2, "the gateway never connected to the camera again"
    # the rest of the gateway kept running: node frames were decoded throughout
    assert len(node.sent_seqs()) > node_frames or node.running
    assert gateway.running
