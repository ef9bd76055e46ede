"""Faint finder candidates (``plates.finder.faint_score``): a small plate the finder scores under
its threshold is read when the vehicle finder confirms it close up; candidates that pass are
unchanged, and nothing is read where there is no plate."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gateway.plates.config import FinderConfig, PlatesConfig

from .conftest import DEV_CROPS, MEDIA, need

#: a real training-side crop (never validation) pasted 44 px wide into a real photo scaled to
#: 640x480: 22 px in the finder's 320 px input, where it scores about 0.13 (threshold 0.3)
CROP, TEXT, PHOTO = "皖AJU922.jpg", "皖AJU922", "darknet_person.jpg"
AT, WIDTH = (300, 330), 44


def _small_plate_frame() -> np.ndarray:
    import cv2

    from models.plates import split as dsplit

    crop = dsplit.load_crop_bgr(need(DEV_CROPS / CROP))
    photo = cv2.imdecode(np.fromfile(need(MEDIA / PHOTO), np.uint8), cv2.IMREAD_COLOR)
    frame = cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
    h = round(WIDTH * crop.shape[0] / crop.shape[1])
    x, y = AT
    frame[y : y + h, x : x + WIDTH] = cv2.resize(crop, (WIDTH, h), interpolation=cv2.INTER_AREA)
    return frame


@pytest.fixture(scope="module")
def unfaint():
    """The reader with faint candidates ignored (the chain before session 33)."""
    from gateway.plates.reader import PlateReader

    return PlateReader(PlatesConfig(finder=FinderConfig(faint_score=0.0)))


def test_a_small_plate_scored_under_the_threshold_is_read_after_a_close_look(reader, unfaint) -> None:
    frame = _small_plate_frame()
    found = reader.finder.find(frame, 0.02)
    on_plate = [p for p in found if p.box[0] < AT[0] + WIDTH / 2 < p.box[2]]
    assert on_plate and not reader.finder.passes(on_plate[0])  # faint: under the threshold
    assert unfaint.read_frame(frame) == []
    got = reader.read_frame(frame, t=1.5)
    assert [o.text for o in got] == [TEXT]
    x0, y0, x1, y1 = got[0].box
    # the box is the plate's, in frame pixels
    assert abs(x0 - AT[0]) <= 6 and abs(x1 - (AT[0] + WIDTH)) <= 6 and y0 <= AT[1] + 12 <= y1
    assert got[0].t == 1.5


def test_a_faint_candidate_is_read_only_when_the_close_look_confirms_it(reader, monkeypatch) -> None:
    """With no plate found close up, the faint candidate gives nothing: its own coarse corners are
    never read."""
    frame = _small_plate_frame()
    monkeypatch.setattr(reader.vehicle_finder, "find", lambda img: [])
    assert reader.read_frame(frame) == []


def test_passing_candidates_are_the_same_with_the_floor(reader) -> None:
    import cv2

    photos = sorted(p for p in need(MEDIA).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    for path in [*photos[:6]]:
        img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        plain = reader.finder.find(img)
        floored = reader.finder.find(img, 0.02)
        passing = [p for p in floored if reader.finder.passes(p)]
        assert [(p.score, p.box) for p in passing] == [(p.score, p.box) for p in plain]
        # the faint ones follow the passing ones, and none lies on a passing one
        assert floored[: len(passing)] == passing
        assert all(p.score >= 0.02 for p in floored)
    frame = _small_plate_frame()
    assert [p.box for p in reader.finder.find_tiled(frame, 320, 0.02)] == [
        p.box for p in reader.finder.find(frame, 0.02)
    ]


def test_faint_candidates_are_not_looked_at_when_a_passing_one_reads(reader, monkeypatch) -> None:
    import cv2

    from .conftest import SHARED

    full = need(SHARED / "plates" / "real_scenes_hyperlpr" / "cache_bad2" / "沪B74992.png")
    frame = cv2.imdecode(np.fromfile(full, np.uint8), cv2.IMREAD_COLOR)
    monkeypatch.setattr(reader, "_read_faint", lambda *a: pytest.fail("faint candidate looked at"))
    assert [o.text for o in reader.read_frame(frame)] == ["沪B74992"]


def test_plate_free_photos_give_no_read_from_faint_candidates(reader, monkeypatch) -> None:
    """Real photos without Chinese plates: the faint candidates there (grilles, signs) are
    looked at close up, at most ``faint_candidates`` per photo, and none gives a read."""
    import cv2

    looked: list[int] = []
    real = reader._read_faint

    def counted(*a):
        looked.append(1)
        return real(*a)

    monkeypatch.setattr(reader, "_read_faint", counted)
    photos = sorted(p for p in need(MEDIA).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    for path in photos:
        img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        before = len(looked)
        assert reader.read_frame(img) == [], path.name
        assert len(looked) - before <= reader.config.finder.faint_candidates
    assert looked  # the set does hold faint candidates: the rule above was exercised


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_faint_score_out_of_range_is_refused(bad) -> None:
    with pytest.raises(ValidationError, match="faint_score"):
        FinderConfig(faint_score=bad)


def test_vehicle_boxes_are_searched_without_the_floor(reader, monkeypatch) -> None:
    """A vehicle box is searched at a scale where its plate is large enough: no faint look there
    (it would cost the floor's decode on every vehicle for no read measured)."""
    frame = _small_plate_frame()
    calls: list[tuple] = []
    real_find = reader.vehicle_finder.find
    monkeypatch.setattr(reader.vehicle_finder, "find", lambda *a: calls.append(a) or real_find(*a))
    monkeypatch.setattr(reader, "_read_faint", lambda *a: pytest.fail("faint candidate looked at"))
    got = reader.read_vehicle(frame, (AT[0] - 60, AT[1] - 80, AT[0] + WIDTH + 60, AT[1] + 40))
    assert [o.text for o in got] == [TEXT]  # large enough in the 160 px vehicle search
    assert calls and all(len(a) == 1 for a in calls)
