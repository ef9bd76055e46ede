"""Multi-frame voting per track."""

from __future__ import annotations

from gateway.plates.colour import PlateColour
from gateway.plates.format import PlateType, classify
from gateway.plates.voting import PlateObservation, PlateVoter


def obs(
    text: str, conf: float | list[float] = 0.9, colour: PlateColour = PlateColour.BLUE, area: float = 0
) -> PlateObservation:
    c = tuple(conf) if isinstance(conf, list) else (conf,) * len(text)
    return PlateObservation(text, c, classify(text), colour, area=area)


def test_empty_voter_has_no_vote() -> None:
    assert PlateVoter().vote() is None


def test_majority_per_position_wins() -> None:
    v = PlateVoter()
    for t in ["皖A12345", "皖A12345", "皖A12846", "皖A72345"]:
        v.add(obs(t))
    vote = v.vote()
    assert vote is not None
    assert vote.text == "皖A12345"
    assert vote.n_reads == 4 and vote.n_agree == 2
    assert vote.plate_type is PlateType.STANDARD
    assert vote.colour is PlateColour.BLUE
    assert len(vote.char_conf) == 7
    # the disputed positions carry less voted confidence than the agreed ones
    assert vote.char_conf[4] < vote.char_conf[0]


def test_confidence_beats_count() -> None:
    v = PlateVoter(min_confidence=0.1)
    v.add(obs("皖A12345", 0.99))
    v.add(obs("皖A12345", 0.97))
    v.add(obs("皖A12846", 0.3))
    v.add(obs("皖A12846", 0.3))
    v.add(obs("皖A12846", 0.3))
    assert v.vote().text == "皖A12345"


def test_length_layout_vote() -> None:
    # an 8-character new-energy plate read as 7 once must not win over consistent 8-char reads
    v = PlateVoter()
    v.add(obs("沪AD12345"))
    v.add(obs("沪AD12345"))
    v.add(obs("沪A12345"))
    vote = v.vote()
    assert vote.text == "沪AD12345" and vote.plate_type is PlateType.NEW_ENERGY_SMALL


def test_invalid_and_weak_reads_are_ignored() -> None:
    v = PlateVoter(min_confidence=0.5)
    v.add(obs("HELLO12"))
    v.add(obs("皖A12345", 0.2))
    v.add(PlateObservation("", (), None))
    assert v.vote() is None and len(v) == 0


def test_certainty_for_preview() -> None:
    v = PlateVoter(certain_reads=3, certain_confidence=0.85)
    v.add(obs("皖A12345", 0.95))
    v.add(obs("皖A12345", 0.95))
    assert not v.vote().certain
    v.add(obs("皖A12345", 0.95))
    assert v.vote().certain
    v2 = PlateVoter(certain_reads=3, certain_confidence=0.85)
    for _ in range(5):
        v2.add(obs("皖A12345", 0.6))
    assert not v2.vote().certain


def test_bounded_memory_keeps_strongest() -> None:
    v = PlateVoter(max_reads=5, min_confidence=0.1)
    for i in range(50):
        v.add(obs("皖A12345", 0.5 + (i % 10) / 100))
    v.add(obs("皖A99999", 0.99))
    assert len(v) == 5
    assert any(o.text == "皖A99999" for o in v._obs)


def test_best_observation_is_an_agreeing_one() -> None:
    v = PlateVoter()
    v.add(obs("皖A12345", 0.8, area=5000))
    v.add(obs("皖A12346", 0.95, area=100))
    v.add(obs("皖A12345", 0.9, area=100))
    vote = v.vote()
    assert vote.best is not None and vote.best.text == vote.text
