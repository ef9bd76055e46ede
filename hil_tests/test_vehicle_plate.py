"""A vehicle in the video yields a plate event: a ``vehicle_passage`` from the camera with a
plate read (``plate`` or, in privacy mode, ``plate_hash``).

Marked ``needs_plates``: plate reading (issue 7, gateway/plates/) is not wired into the
camera pipeline yet, so this scenario FAILS until the gateway publishes such events. It
never passes vacuously (it waits for the whole video to be processed and then requires the
event) and it is never skipped silently; `edgepost hil run` lists it on its own line.
"""

from __future__ import annotations

import pytest

CAR_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


@pytest.mark.needs_plates
def test_vehicle_in_video_yields_plate_event(rig, gateway, events,
                                             record_property: pytest.RecordProperty) -> None:
    spec = rig.camera_spec("vehicles")
    assert spec is not None and spec.kind == "video", \
        "the rig has no video stimulus for vehicles (a camera with role vehicles, kind video)"
    from hil_tests.rig.model import shared_path

    video = shared_path(spec.video or "")
    assert video.is_file(), f"video stimulus {video} missing (set EDGEPOST_SHARED)"
    gateway.configure(cameras={spec.name: {
        "source": {"uri": str(video), "pacing": "fast"},
        "detector": {**rig.detector(), "min_score": 0.4},
        "schedule": {"motion_interval_s": 0.25},
        "rules": {"classes": ["car"], "class_aliases": CAR_ALIASES,
                  "lines": [{"name": "gate", "a": [0.0, 0.5], "b": [1.0, 0.5],
                             "inbound_side": [0.5, 0.0]}]}}})
    gateway.start()
    events.expect_health(lambda d: d["cameras"][spec.name]["source"]["ended"], 90,
                         "the whole video processed")
    cam_events = [m.event for m in events.events()
                  if getattr(m.event.body, "camera", None) == spec.name]
    kinds: dict[str, int] = {}
    for e in cam_events:
        kinds[e.type.label] = kinds.get(e.type.label, 0) + 1
    record_property("camera_events", kinds)
    vehicles = [e.body for e in cam_events if e.type.label == "vehicle_passage"]
    plated = [b for b in vehicles if b.plate or b.plate_hash]
    assert plated, (
        f"NOT YET IMPLEMENTED: no vehicle_passage event with a plate from camera "
        f"{spec.name!r} after the whole video; the gateway published {kinds or 'nothing'} "
        f"for it. Plate reading (gateway/plates, issue 7) must be wired into the camera "
        f"pipeline and emit vehicle_passage (plate/plate_hash, plate_conf, camera, track_id).")
    assert all(b.camera == spec.name and b.track_id is not None for b in plated)
    assert all(b.plate_conf is None or 0 <= b.plate_conf <= 1 for b in plated)
