"""Vehicles whose plate can't be read (issue 11 item 4): the passage says read, unreadable or
absent, with the best crop, and an absent plate is an operator alarm at the centre.

Real parts only: the real TFLite plate chain on real toll-lane photos from ../shared (see
``unread_scenes``), the real COCO SSD vehicle box, the :class:`PlateObserver` driven through
``observe``/``track_ended`` as the camera pipeline drives it, the event encoded and decoded as
the wire protocol (CBOR and JSON) and classified by the centre's decoder. The "unreadable"
plates are real plates shrunk past reading; the "absent" ones are real plates painted over.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from central.decode import EventRow, classify
from gateway.events import Direction, Event, Format, Topics, VehiclePassage, decode, encode, new_event_id
from gateway.events.bodies import PRIORITY_HIGH, PRIORITY_NORMAL
from gateway.events.types import PlateStatus
from gateway.plates.config import PlatesConfig
from gateway.plates.reader import PlateReader
from gateway.service.plate_observer import PlateObserver, plate_seen
from gateway.service.vision_events import to_body
from tests.plates import unread_scenes as us
from tests.plates.conftest import grey

N_SCENES = 4  # different real vehicles: a car, a truck or a bus, whatever the detector says
CROPS = {"evidence": {"send_crop": True, "max_width": 200, "max_bytes": 6000}}


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


@pytest.fixture(scope="module")
def scenes(reader: PlateReader) -> list[us.Scene]:
    return us.readable_scenes(reader, N_SCENES, PlatesConfig().absent_min_vehicle_px)


def observer(reader: PlateReader, plates: dict | None = None, lines: bool | None = False) -> PlateObserver:
    cfg = PlatesConfig.model_validate({**CROPS, **(plates or {})})
    has_lines = None if lines is None else (lambda: lines)
    return PlateObserver("lane-1", cfg, reader=reader, has_lines=has_lines)


def drive(obs: PlateObserver, scene: us.Scene, image: np.ndarray, n: int = 4,
          direction: str | None = None, label: str | None = None) -> list:
    """``n`` detector frames of the vehicle, then its track ends (after a line, if ``direction``)."""
    tr = us.track(scene, label=label)
    frames = us.frames(image, n + 1)
    for f in frames[:n]:
        tr.last_t = f.t
        assert obs.observe(f, [tr]) == []
        look = obs._looks[tr.track_id]
        if look.crop is not None:  # bounded memory: one small crop per live track
            assert look.crop.shape[1] <= obs.cfg.evidence.max_width
    events = obs.track_ended(frames[n], tr, direction)
    assert obs._looks == {}, "a track's state is freed when it ends"
    return events


def wire(ev: object) -> tuple[VehiclePassage, Event, EventRow]:
    """The passage as sent and received: CBOR and JSON round trips, then the centre's decoder."""
    body = to_body(ev)  # type: ignore[arg-type]
    assert isinstance(body, VehiclePassage)
    event = Event(body=body, id=new_event_id(1_795_867_200_000), ts_ms=1_795_867_200_000, seq=7)
    for fmt in (Format.CBOR, Format.JSON):
        assert decode(encode(event, fmt), fmt) == event
    row = classify(Topics("gw-lane").event(event.type), encode(event), None, event.ts_ms + 40)
    assert isinstance(row, EventRow), row
    return body, event, row


def jpeg_width(data: bytes) -> int:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return int(img.shape[1])


def overlaps(box: tuple[int, int, int, int], plate: tuple[int, int, int, int]) -> bool:
    x, y, w, h = plate
    return box[0] < x + w and x < box[2] and box[1] < y + h and y < box[3]


# ---------------------------------------------------------------- what the reader saw
def test_reader_reports_candidates_with_and_without_a_read(reader: PlateReader,
                                                           scenes: list[us.Scene]) -> None:
    cfg = PlatesConfig()
    for s in scenes:
        seen = reader.inspect_vehicle(s.image, s.box_px)
        assert [o.text for o in seen.reads] == [o.text for o in reader.read_vehicle(s.image, s.box_px)]
        assert seen.best is not None and seen.best.source == "finder" and overlaps(seen.best.box, s.plate)

        shrunk = reader.inspect_vehicle(s.shrunk(), s.box_px)
        assert shrunk.reads == [], f"{s.text}: the shrunk plate must not be readable for this test"
        assert shrunk.best is not None and plate_seen(shrunk.best, cfg) and overlaps(shrunk.best.box, s.plate)

        covered = reader.inspect_vehicle(s.covered(), s.box_px)
        assert covered.reads == []
        assert not any(plate_seen(c, cfg) for c in covered.candidates), (s.text, covered.candidates)


def test_without_the_finder_the_localizer_boxes_are_the_candidates(scenes: list[us.Scene]) -> None:
    r = PlateReader(PlatesConfig.model_validate({"finder": {"enabled": False}}))
    s = scenes[0]
    seen = r.inspect_vehicle(s.shrunk(8), s.box_px)  # 1/12 is too blurred for the localizer to fire
    assert seen.candidates and {c.source for c in seen.candidates} == {"localizer"}
    assert any(overlaps(c.box, s.plate) for c in seen.candidates)


# ---------------------------------------------------------------- the three statuses
def test_readable_plate_is_a_read_passage_still_schema_v1(reader: PlateReader,
                                                          scenes: list[us.Scene]) -> None:
    for s in scenes:
        [ev] = drive(observer(reader), s, s.image)
        body, event, row = wire(ev)
        assert body.plate == s.text and body.plate_status is None  # a read says so by its plate
        assert event.version == 1, "a read passage stays readable by v1 subscribers"
        assert body.crop is not None and jpeg_width(body.crop) <= 200
        assert row.alarm is None and row.plate == s.text


def test_shrunk_plate_is_unreadable_with_the_plate_crop(reader: PlateReader,
                                                        scenes: list[us.Scene]) -> None:
    for s in scenes:
        [ev] = drive(observer(reader), s, s.shrunk())
        body, event, row = wire(ev)
        assert body.plate_status is PlateStatus.UNREADABLE, s.text
        assert body.plate is None and body.plate_hash is None and body.plate_colour is None
        assert event.version == 2 and body.vehicle_class == s.label and body.camera == "lane-1"
        assert body.crop is not None
        crop = cv2.imdecode(np.frombuffer(body.crop, np.uint8), cv2.IMREAD_COLOR)
        w = s.plate[2]
        # the plate candidate, not the vehicle: about the plate's shape
        assert 2.0 < crop.shape[1] / crop.shape[0] < 6.0 and crop.shape[1] <= min(200, w + 40)
        assert row.alarm is None, "unreadable is stored, not an alarm"
        assert body.priority == PRIORITY_NORMAL
        assert '"plate_status":"unreadable"' in row.body


def test_covered_plate_is_absent_and_an_alarm(reader: PlateReader, scenes: list[us.Scene]) -> None:
    for s in scenes:
        for colour in ("bumper", "black"):
            [ev] = drive(observer(reader, lines=True), s, s.covered(colour), direction="inbound")
            body, event, row = wire(ev)
            assert body.plate_status is PlateStatus.ABSENT, (s.text, colour)
            assert body.direction is Direction.INBOUND and event.version == 2
            # the vehicle crop, downscaled to the evidence width
            assert body.crop is not None and jpeg_width(body.crop) == 200
            assert row.alarm == "no_plate"
            assert body.priority == PRIORITY_HIGH, "sent in the alarm lane, ahead of a backlog"
            assert row.summary == f"{s.label} with no plate at camera lane-1, inbound"
            assert '"plate_status":"absent"' in row.body



def test_a_monochrome_camera_judges_candidates_without_colour(reader: PlateReader,
                                                              scenes: list[us.Scene]) -> None:
    """At night (infrared, no colour in the frame) a candidate's colour is no evidence: a plate
    blurred past reading whose candidate scores between the two minimums is 'unreadable' (the
    plain minimum made it 'absent', a false covered-plate alarm), a covered plate with no
    candidate at the coloured minimum is still 'absent'."""
    cfg = PlatesConfig()
    middle = 0
    for s in scenes:
        shrunk = reader.inspect_vehicle(grey(s.shrunk()), s.box_px)
        assert shrunk.reads == [] and all(c.monochrome for c in shrunk.candidates)
        best = shrunk.best
        if best is None or best.score < cfg.candidate_min_score:
            continue
        assert plate_seen(best, cfg)
        middle += best.score < cfg.plain_candidate_min_score
        [ev] = drive(observer(reader), s, grey(s.shrunk()))
        assert wire(ev)[0].plate_status is PlateStatus.UNREADABLE, s.text
    assert middle, "no scene has a monochrome candidate between the two minimums: pick others"
    covered = 0
    for s in scenes:
        img = grey(s.covered())
        if any(c.score >= cfg.candidate_min_score for c in reader.inspect_vehicle(img, s.box_px).candidates):
            continue
        covered += 1
        [ev] = drive(observer(reader, lines=True), s, img, direction="inbound")
        assert wire(ev)[0].plate_status is PlateStatus.ABSENT, s.text
    assert covered >= 2


def test_lane_camera_frame_mode(reader: PlateReader, scenes: list[us.Scene]) -> None:
    """A close-up lane camera also searches the whole frame: its candidates count for the
    vehicle whose box holds them, and a covered plate is still absent."""
    frame_reader = PlateReader(PlatesConfig.model_validate({"frame_mode": True}))
    for s in scenes[:2]:
        seen = frame_reader.inspect_frame(s.shrunk())
        assert seen.reads == [] and any(overlaps(c.box, s.plate) for c in seen.candidates)
        statuses = [drive(observer(frame_reader, {"frame_mode": True}), s, im)[0].plate.get("plate_status")
                    for im in (s.image, s.shrunk(), s.covered())]
        assert statuses == [None, "UNREADABLE", "ABSENT"], s.text


# ---------------------------------------------------------------- when nothing is said
def test_a_vehicle_too_small_or_seen_too_briefly_is_not_judged(reader: PlateReader,
                                                               scenes: list[us.Scene]) -> None:
    s = scenes[0]
    covered = s.covered()
    width = s.box_px[2] - s.box_px[0]
    small = s.scaled(covered, 0.9 * PlatesConfig().absent_min_vehicle_px / width)
    assert drive(observer(reader), s, small) == []
    assert drive(observer(reader), s, covered, n=2) == []  # absent_min_frames = 3
    assert [e.plate["plate_status"] for e in drive(observer(reader), s, covered, n=3)] == ["ABSENT"]
    # a stricter site: the vehicle must be seen wider than it ever was
    assert drive(observer(reader, {"absent_min_vehicle_px": width + 1}), s, covered) == []


def test_lines_decide_which_tracks_passed(reader: PlateReader, scenes: list[us.Scene]) -> None:
    s = scenes[0]
    covered = s.covered()
    assert drive(observer(reader, lines=True), s, covered, direction=None) == [], \
        "a camera with lines: a track that crossed none did not pass the checkpoint"
    assert drive(observer(reader, lines=None), s, covered, direction=None) == [], \
        "not told about lines: only crossings count"
    [ev] = drive(observer(reader, lines=False), s, covered, direction=None)
    assert ev.plate["plate_status"] == "ABSENT" and to_body(ev).direction is Direction.UNKNOWN
    # a read is reported as before, crossing or not
    assert len(drive(observer(reader, lines=True), s, s.image, direction=None)) == 1


def test_classes_and_switches(reader: PlateReader, scenes: list[us.Scene]) -> None:
    s = scenes[0]
    covered = s.covered()
    others = tuple(c for c in us.VEHICLES if c != s.label)
    assert drive(observer(reader, {"absent_classes": others}), s, covered) == []
    # motorcycles carry a rear plate only: never 'absent' by default
    assert drive(observer(reader), s, covered, label="motorcycle") == []
    assert drive(observer(reader, {"report_unread": False}), s, s.shrunk()) == []
    assert drive(observer(reader, {"report_unread": False}), s, covered) == []


def test_privacy_and_crops_off(reader: PlateReader, scenes: list[us.Scene], tmp_path) -> None:
    s = scenes[0]
    key = tmp_path / "privacy.key"
    key.write_bytes(b"site-privacy-key-0123456789abcdef")
    hashed = {"privacy": {"mode": "hash", "key_file": str(key)}}
    [read] = drive(observer(reader, hashed), s, s.image)
    assert "plate" not in read.plate and isinstance(read.plate["plate_hash"], bytes)
    [unread] = drive(observer(reader, hashed), s, s.shrunk())
    assert set(unread.plate) == {"plate_status", "crop"}, "no text or hash to protect"
    # crops are optional: without send_crop none is kept in memory or sent
    obs = PlateObserver("lane-1", PlatesConfig(), reader=reader, has_lines=lambda: False)
    [ev] = drive(obs, s, s.covered())
    assert ev.plate == {"plate_status": "ABSENT"} and to_body(ev).crop is None


def test_state_of_tracks_never_ended_is_freed(reader: PlateReader, scenes: list[us.Scene]) -> None:
    """The pipeline calls track_ended only for tracks it announced (not with enter/exit events
    off): a track gone from two frames is forgotten; one gone from one frame (it ended in that
    frame, track_ended follows) still gets its passage."""
    s = scenes[0]
    covered = s.covered()
    obs = observer(reader)
    tr = us.track(s)
    frames = us.frames(covered, 6)
    for f in frames[:3]:
        obs.observe(f, [tr])
    obs.observe(frames[3], [])
    [ev] = obs.track_ended(frames[3], tr, None)
    assert ev.plate["plate_status"] == "ABSENT"
    for f in frames[:3]:
        obs.observe(f, [tr])
    obs.observe(frames[3], [])
    assert tr.track_id in obs._looks
    obs.observe(frames[4], [])
    assert obs._looks == {}


def test_config_keys_are_strict() -> None:
    cfg = PlatesConfig()
    assert cfg.report_unread and cfg.absent_min_frames >= 2 and "motorcycle" not in cfg.absent_classes
    with pytest.raises(ValidationError):
        PlatesConfig.model_validate({"absent_min_vehicle_px": 8})
    with pytest.raises(ValidationError):
        PlatesConfig.model_validate({"candidate_min_score": 1.5})
    with pytest.raises(ValidationError):
        PlatesConfig.model_validate({"absent_min_vehicle": 200})  # typo: refused, not ignored


def test_centre_alarm_only_for_a_final_absent_passage() -> None:
    def row(**fields: object) -> EventRow:
        ev = Event(body=VehiclePassage(vehicle_class="truck", camera="cam-lane", **fields),  # type: ignore[arg-type]
                   id=new_event_id(1_795_867_200_000), ts_ms=1_795_867_200_000, seq=3)
        c = classify(Topics("gw-1").event(ev.type), encode(ev), None, ev.ts_ms + 10)
        assert isinstance(c, EventRow)
        return c

    absent = row(plate_status=PlateStatus.ABSENT, direction=Direction.OUTBOUND)
    assert (absent.alarm, absent.summary) == ("no_plate", "truck with no plate at camera cam-lane, outbound")
    no_way = row(plate_status=PlateStatus.ABSENT)
    assert no_way.summary == "truck with no plate at camera cam-lane"
    assert row(plate_status=PlateStatus.ABSENT, preview=True).alarm is None
    assert row(plate_status=PlateStatus.UNREADABLE).alarm is None
    assert row(plate="浙A12345", plate_status=PlateStatus.READ).alarm is None


# ---------------------------------------------------------------- through a camera pipeline
def test_covered_plate_crossing_a_line_in_a_camera_pipeline(reader: PlateReader, tmp_path) -> None:
    """The whole camera path: an image-folder camera (real detector, tracker, line rules, and the
    observer at the track's end) over a real vehicle with its plate covered, driving towards the
    camera across a line. The frames are a 960x540 window of a full 1600x1200 toll-lane photo
    (scaled to 960x720) sliding up, so the vehicle moves down through real pixels."""
    from gateway.vision.config import VisionCameraConfig
    from gateway.vision.events import VehiclePlate
    from gateway.vision.pipeline import CameraPipeline

    [s] = us.readable_scenes(reader, 1, PlatesConfig().absent_min_vehicle_px, min_height=1000)
    img = s.scaled(s.covered(), 720 / s.image.shape[0])
    fh = 540
    tops = np.linspace(img.shape[0] - fh, 0, 10).round().astype(int)
    for i, top in enumerate(tops):
        cv2.imwrite(str(tmp_path / f"f{i:02d}.png"), img[top : top + fh])
    bottom = s.box[3] * img.shape[0]  # the vehicle's lower edge, scaled-photo px
    first, last = (bottom - tops[0]) / fh, (bottom - tops[-1]) / fh
    assert last < 0.99, "the lower edge stays in view"
    line_y = round((first + last) / 2, 3)
    line = {"name": "gate", "a": (0.0, line_y), "b": (1.0, line_y), "inbound_side": (0.5, 1.0),
            "anchor": "bottom"}  # towards the camera is inbound
    cfg = VisionCameraConfig.model_validate({
        "source": {"kind": "folder", "uri": str(tmp_path), "fps": 4, "pacing": "fast"},
        "detector": {"model": str(us.SSD / "detect.tflite"), "labels": str(us.SSD / "labelmap.txt"),
                     "min_score": 0.4},
        "motion": {"enabled": False},
        "rules": {"classes": list(us.VEHICLES), "lines": [line]},
        "plates": CROPS,
    })
    assert cfg.plates is not None
    obs = PlateObserver("lane-1", cfg.plates, reader=reader, has_lines=lambda: bool(cfg.rules.lines))
    events: list = []
    CameraPipeline("lane-1", cfg, events.append, observer=obs).run()
    passages = [e for e in events if isinstance(e, VehiclePlate)]
    assert len(passages) == 1, events
    body, _, row = wire(passages[0])
    assert body.plate_status is PlateStatus.ABSENT and body.direction is Direction.INBOUND
    assert row.alarm == "no_plate" and body.crop is not None
