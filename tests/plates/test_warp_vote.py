"""The warp-voting rule (gateway/plates/warp_vote.py): a pure function over recognizer reads,
and the corner perturbations it is fed from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.recognizer import PlateRead
from gateway.plates.warp_vote import WARPS, Warp, perturb, vote
from tests.plates.conftest import SHARED, need


def read(text: str, confs: list[float], alts: list[dict[str, float]] | None = None) -> PlateRead:
    """A read whose alternatives are its own characters unless ``alts`` says otherwise."""
    alternatives = tuple(
        tuple(sorted((alts[i] if alts and alts[i] else {c: p}).items(), key=lambda kv: -kv[1]))
        for i, (c, p) in enumerate(zip(text, confs, strict=True))
    )
    return PlateRead(text, tuple(confs), alternatives)


def test_agreeing_warps_do_not_inflate_confidence() -> None:
    reads = [read("浙A12345", [0.8] * 7) for _ in range(5)]
    voted = vote(reads)
    assert voted.text == "浙A12345"
    assert voted.char_conf == pytest.approx((0.8,) * 7)


def at(i: int, dist: dict[str, float], n: int = 7) -> list[dict[str, float]]:
    """Alternatives for a read of ``n`` characters: ``dist`` at position ``i``, own character elsewhere."""
    return [dist if j == i else {} for j in range(n)]


def test_identical_reads_vote_to_the_same_read() -> None:
    r = read("苏E5Q0D8", [0.99, 0.98, 0.9, 0.72, 0.95, 0.97, 0.9], at(3, {"Q": 0.72, "0": 0.2}))
    voted = vote([r, r, r])
    assert voted.text == r.text
    assert voted.char_conf == pytest.approx(r.char_conf)
    assert dict(voted.alternatives[3]) == pytest.approx(dict(r.alternatives[3]))


def test_a_split_position_is_won_by_summed_probability_and_its_confidence_is_the_mean() -> None:
    # position 3: three warps read D (0.7, 0 as second choice at 0.25), two read 0 (0.75, D 0.2)
    d_read = read("浙AD1234", [0.99] * 2 + [0.7] + [0.99] * 4, at(2, {"D": 0.7, "0": 0.25}))
    z_read = read("浙A01234", [0.99] * 2 + [0.75] + [0.99] * 4, at(2, {"0": 0.75, "D": 0.2}))
    voted = vote([d_read, d_read, d_read, z_read, z_read])
    assert voted.text == "浙AD1234"
    # D: (3 x 0.7 + 2 x 0.2) / 5 = 0.5; 0: (3 x 0.25 + 2 x 0.75) / 5 = 0.45
    assert voted.char_conf[2] == pytest.approx(0.5)
    assert dict(voted.alternatives[2]) == pytest.approx({"D": 0.5, "0": 0.45})
    assert voted.char_conf[0] == pytest.approx(0.99)


def test_the_alternatives_decide_where_the_top_choices_disagree() -> None:
    # two warps read B weakly with E close behind, one reads E strongly: E has more mass
    b = read("皖AB1234", [0.99, 0.99, 0.5, 0.99, 0.99, 0.99, 0.99], at(2, {"B": 0.5, "E": 0.45}))
    e = read("皖AE1234", [0.99, 0.99, 0.9, 0.99, 0.99, 0.99, 0.99], at(2, {"E": 0.9, "B": 0.05}))
    voted = vote([b, b, e])
    assert voted.text == "皖AE1234"
    assert voted.char_conf[2] == pytest.approx((0.45 + 0.45 + 0.9) / 3)


def test_reads_of_another_length_and_empty_reads_are_left_out() -> None:
    seven = read("浙A12345", [0.99] * 6 + [0.9])
    other = read("浙A12845", [0.99] * 4 + [0.6, 0.99, 0.7])
    eight = read("浙A123456", [0.95] * 8)
    voted = vote([seven, other, eight, PlateRead("", ())])
    assert voted.text == "浙A12345"
    # the mean over the two 7-character warps; the 8-character and the empty read say nothing
    assert voted.char_conf[4] == pytest.approx(0.99 / 2)  # 3 against 8 (0.6): 3 wins at half
    assert voted.char_conf[6] == pytest.approx((0.9 + 0.7) / 2)


def test_the_most_common_length_wins_over_one_more_confident_read() -> None:
    assert vote([read("浙A12345", [0.8] * 7)] * 2 + [read("浙A123456", [0.99] * 8)]).text == "浙A12345"


def test_equal_counts_go_to_the_surer_reads() -> None:
    assert vote([read("浙A12345", [0.9] * 7), read("浙A1234", [0.8] * 6)]).text == "浙A12345"
    assert vote([read("浙A12345", [0.99] * 6 + [0.5]), read("浙A1234", [0.8] * 6)]).text == "浙A1234"


def test_nothing_read_votes_to_nothing() -> None:
    assert vote([]).text == ""
    assert vote([PlateRead("", ()), PlateRead("", ())]) == PlateRead("", ())


CHARS = "浙苏A0DQ8B"


@st.composite
def some_reads(draw):
    n = draw(st.integers(1, 6))
    out = []
    for _ in range(n):
        length = draw(st.integers(0, 4))
        text = "".join(draw(st.sampled_from(CHARS)) for _ in range(length))
        confs = [draw(st.floats(0.01, 1.0)) for _ in range(length)]
        out.append(read(text, confs))
    return out


@settings(max_examples=200, deadline=None)
@given(some_reads())
def test_a_voted_character_is_never_surer_than_its_surest_warp(reads: list[PlateRead]) -> None:
    voted = vote(reads)
    for i, (ch, conf) in enumerate(zip(voted.text, voted.char_conf, strict=True)):
        surest = max(
            (r.char_conf[i] for r in reads if len(r.text) == len(voted.text) and r.text[i] == ch), default=0.0
        )
        assert 0.0 < conf <= surest + 1e-9
        # the mean over the warps of that length: at most the share of them that read it here
        group = [r for r in reads if len(r.text) == len(voted.text)]
        agreeing = sum(r.text[i] == ch for r in group)
        assert conf <= agreeing / len(group) + 1e-9


# ---------------------------------------------------------------- corner perturbations
PLATE = np.array([[10, 20], [110, 30], [108, 60], [8, 50]], np.float32)  # tilted ~6°, 100x30


def test_the_identity_warp_keeps_the_corners() -> None:
    np.testing.assert_allclose(perturb(PLATE, Warp()), PLATE, atol=1e-4)


def test_a_shift_moves_along_the_plates_own_axes() -> None:
    u = ((PLATE[1] - PLATE[0]) + (PLATE[2] - PLATE[3])) / 2
    v = ((PLATE[3] - PLATE[0]) + (PLATE[2] - PLATE[1])) / 2
    np.testing.assert_allclose(perturb(PLATE, Warp(shift_x=0.02)), PLATE + 0.02 * u, atol=1e-4)
    np.testing.assert_allclose(perturb(PLATE, Warp(shift_y=-0.05)), PLATE - 0.05 * v, atol=1e-4)


def test_a_scale_grows_the_plate_about_its_centre() -> None:
    grown = perturb(PLATE, Warp(scale_x=1.1, scale_y=1.2))
    np.testing.assert_allclose(grown.mean(axis=0), PLATE.mean(axis=0), atol=1e-4)
    width = lambda c: (np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2  # noqa: E731
    height = lambda c: (np.linalg.norm(c[3] - c[0]) + np.linalg.norm(c[2] - c[1])) / 2  # noqa: E731
    assert width(grown) == pytest.approx(1.1 * width(PLATE), rel=0.02)
    assert height(grown) == pytest.approx(1.2 * height(PLATE), rel=0.02)


def test_a_collapsed_plate_is_moved_but_not_scaled() -> None:
    # corners on one line have no second axis to scale along: the scale is skipped, the shift kept
    line = np.array([[10, 20], [110, 20], [110, 20], [10, 20]], np.float32)
    moved = perturb(line, Warp(scale_x=1.1, scale_y=1.2, shift_x=0.02))
    np.testing.assert_allclose(moved, line + 0.02 * np.array([100, 0], np.float32), atol=1e-4)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-500, 500, allow_nan=False), min_size=8, max_size=8),
    st.floats(0.8, 1.3), st.floats(0.8, 1.3),
)
def test_a_scale_on_any_quadrilateral_is_the_scale_along_its_own_axes(
    xy: list[float], sx: float, sy: float
) -> None:
    quad = np.array(xy, np.float32).reshape(4, 2)
    u = ((quad[1] - quad[0]) + (quad[2] - quad[3])) / 2
    v = ((quad[3] - quad[0]) + (quad[2] - quad[1])) / 2
    basis = np.stack([u, v]).astype(np.float64)
    # (near-)collapsed: the case above. Judged relative to the axes' lengths (their sine under
    # 0.01, about half a degree): float32 corners cannot say how to scale along two axes that
    # nearly coincide, whatever their size (hypothesis found det 1.02 for axes 69 px long)
    if abs(np.linalg.det(basis)) <= 0.01 * np.linalg.norm(u) * np.linalg.norm(v):
        return
    centre = quad.mean(axis=0)
    got = perturb(quad, Warp(scale_x=sx, scale_y=sy)).astype(np.float64)
    # each corner's offset from the centre, in the plate's own axes, is scaled by (sx, sy)
    coords = np.linalg.solve(basis.T, (quad - centre).T.astype(np.float64)).T
    expected = centre + (coords * [sx, sy]) @ basis
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)  # px; the corners are float32


def test_every_listed_warp_is_small() -> None:
    # the warps are jitters of the finder's corners, not new candidates
    for w in WARPS:
        assert 0.9 <= w.scale_x <= 1.12 and 0.9 <= w.scale_y <= 1.25
        assert abs(w.shift_x) <= 0.03 and abs(w.shift_y) <= 0.06
        moved = np.abs(perturb(PLATE, w) - PLATE).max()
        assert 0 < moved < 0.1 * 100


# ---------------------------------------------------------------- on real scenes
# Examples of what the vote does, found for the committed recognizer (s6) by reading real
# composites with and without the vote (the option itself was chosen on training-side plates
# with `python -m models.plates.evaluate_scenes --side train --vote-warps 0 4 --errors`). A new
# recognizer needs new examples; the mechanism under test stays the same.


@pytest.fixture(scope="module")
def single_warp():
    """One warp, one reader: the second reader, the province reader and the second look close
    up (refind) and the panel's corners are off too, or they would correct what these tests need
    read wrong (they do: test_second_opinion.py, test_province.py, test_refind.py, test_panel.py)."""
    from gateway.plates.config import FinderConfig, PlatesConfig, RecognizerConfig
    from gateway.plates.reader import PlateReader

    return PlateReader(PlatesConfig(finder=FinderConfig(vote_warps=0, refind=False, panel_corners=False),
                                    recognizer=RecognizerConfig(second_reader=False, province_reader=False)))


def test_a_plate_no_single_warp_read_accepts_is_read_by_the_vote(single_warp) -> None:
    from gateway.plates.config import FinderConfig, PlatesConfig, RecognizerConfig
    from gateway.plates.finder import PlateFinder
    from gateway.plates.reader import PlateReader
    from models.plates.evaluate_scenes import composite_samples

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    # a real dev crop (皖A884B0) pasted on a real photo: the finder's own corners give a read
    # that fails the thresholds; four jittered warps agree on the plate (the vote alone: the
    # province reader would make the weak province surer)
    s = next(s for s in composite_samples(PlateFinder()) if s.name == "dev/皖A884B0.jpg")
    reader = PlateReader(PlatesConfig(finder=FinderConfig(refind=False, panel_corners=False),
                                      recognizer=RecognizerConfig(second_reader=False,
                                                                  province_reader=False)))
    assert reader.config.finder.vote_warps > 0
    assert single_warp.read_frame(s.image) == []
    reads = reader.read_frame(s.image)
    assert [o.text for o in reads] == ["皖A884B0"]
    # the vote's confidences are means over the warps: the weak positions stay visibly weak
    assert reads[0].confidence < 0.9


def test_a_weak_wrong_read_is_replaced_by_the_vote(reader, single_warp) -> None:
    from gateway.plates.finder import PlateFinder
    from models.plates.evaluate_scenes import composite_samples

    need(SHARED / "plates" / "real_scenes_hyperlpr" / "labels.csv")
    # a real training-side dev crop (皖AZ948W) pasted on a real photo: the single warp reads
    # 皖AZ948M, weak but above the minimum (so it would be reported); it is under vote_below, so
    # the other warps are read, and they agree on W: the voted read is the plate, and surer
    s = next(s for s in composite_samples(PlateFinder(), side=0) if s.name == "dev/皖AZ948W.jpg")
    single = single_warp.read_frame(s.image)
    assert single and single[0].text != s.text
    minimum, vote_below = reader.config.recognizer.min_char_confidence, reader.config.finder.vote_below
    assert minimum <= single[0].confidence < vote_below
    voted = reader.read_frame(s.image)
    assert [o.text for o in voted] == [s.text]
    assert voted[0].confidence > single[0].confidence
