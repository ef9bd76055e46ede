"""A vehicle in the video yields a plate event: a ``vehicle_passage`` from the camera with a
plate read (``plate`` or, in privacy mode, ``plate_hash``).

The simulated rig's stimulus is generated (``video = "generated:plate-pass"``, see
hil_tests/rig/plate_stimulus.py): a car with a known plate drives inbound across the line,
so the scenario checks the exact text and direction. A real rig points at a clip or camera
with real traffic and checks that plated passages arrive. It waits for the whole video to
be processed before judging, so it cannot pass vacuously. Marked ``needs_plates`` so a rig
without a plate-capable camera can deselect it (and is told so).
"""

from __future__ import annotations

import pytest

CAR_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


@pytest.mark.needs_plates
def test_vehicle_in_video_yields_plate_event(rig, gateway, events, tmp_path,
                                             record_property: pytest.RecordProperty) -> None:
    spec = rig.camera_spec("vehicles")
    assert spec is not None and spec.kind == "video", \
        "the rig has no video stimulus for vehicles (a camera with role vehicles, kind video)"
    from hil_tests.rig.model import shared_path
    from hil_tests.rig.plate_stimulus import GENERATED, make_plate_clip

    expected_text = None
    if spec.video == GENERATED:
        video, expected_text = make_plate_clip(tmp_path)
    else:
        video = shared_path(spec.video or "")
    assert video.is_file(), f"video stimulus {video} missing (set EDGEPOST_SHARED)"
    gateway.configure(cameras={spec.name: {
        "source": {"uri": str(video), "pacing": "fast"},
        "detector": {**rig.detector(), "min_score": 0.4},
        "schedule": {"motion_interval_s": 0.1},
        "rules": {"classes": ["car"], "class_aliases": CAR_ALIASES,
                  "lines": [{"name": "gate", "a": [0.0, 0.5], "b": [1.0, 0.5],
                             "inbound_side": [0.5, 0.0]}]},
        "plates": {}}})
    gateway.start()
    # "finished", not the source's "ended": the pipeline ends the open tracks (and reads their
    # plates) after the read that met the end, and only then says it has finished
    events.expect_health(lambda d: d["cameras"][spec.name].get("finished"), 90,
                         "the whole video processed and its last tracks ended")
    # the passages are in the spool by then, but may still be on their way to the broker
    events.expect("vehicle_passage", 60, camera=spec.name)
    cam_events = [m.event for m in events.events()
                  if getattr(m.event.body, "camera", None) == spec.name]
    kinds: dict[str, int] = {}
    for e in cam_events:
        kinds[e.type.label] = kinds.get(e.type.label, 0) + 1
    record_property("camera_events", kinds)
    vehicles = [e.body for e in cam_events if e.type.label == "vehicle_passage"]
    plated = [b for b in vehicles if b.plate or b.plate_hash]
    assert plated, (
        f"no vehicle_passage event with a plate from camera {spec.name!r} after the whole "
        f"video; the gateway published {kinds or 'nothing'} for it")
    assert all(b.camera == spec.name and b.track_id is not None for b in plated)
    assert all(b.plate_conf is None or 0 <= b.plate_conf <= 1 for b in plated)
    if expected_text is not None:  # the generated clip: one car, known plate, inbound
        from gateway.events import Direction

        assert [(b.plate, b.direction) for b in plated] == [(expected_text, Direction.INBOUND)]
