"""Format validation per plate type and position-based correction of confusable characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.plates.charset import ALPHABET, DIGITS, LETTERS, NUM_CLASSES, PROVINCES, decode, encode
from gateway.plates.format import MAX_SERIAL_LETTERS, PlateType, classify, correct, is_valid


def test_alphabet() -> None:
    assert len(PROVINCES) == 31
    assert "I" not in ALPHABET and "O" not in ALPHABET
    assert NUM_CLASSES == len(ALPHABET) + 1 == 31 + 24 + 10 + 7 + 1
    assert decode(encode("皖A12345")) == "皖A12345"


@pytest.mark.parametrize(
    ("text", "ptype"),
    [
        ("皖A12345", PlateType.STANDARD),
        ("京AF0236", PlateType.STANDARD),
        ("沪AD12345", PlateType.NEW_ENERGY_SMALL),
        ("粤BFA1234", PlateType.NEW_ENERGY_SMALL),
        ("苏E12345D", PlateType.NEW_ENERGY_LARGE),
        ("京A1234警", PlateType.POLICE),
        ("皖A1234学", PlateType.COACH),
        ("鲁B1234挂", PlateType.TRAILER),
        ("粤Z1234港", PlateType.HONG_KONG),
        ("粤ZA123澳", PlateType.MACAU),
        ("沪A1234领", PlateType.CONSULATE),
        ("使014578", PlateType.EMBASSY),
    ],
)
def test_valid_formats(text: str, ptype: PlateType) -> None:
    assert classify(text) is ptype
    assert correct(text) == (text, ptype)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "皖A1234",
        "皖A123456",
        "AA12345",
        "皖112345",
        "皖A1234O",
        "皖AI2345",
        "京A12警34",
        "使A12345",
        "沪A12A4领",
        "粤A1234港",
        "皖AB12345",
        "皖A12345A",
        "HELLO",
        "12345678",
    ],
)
def test_invalid_formats(text: str) -> None:
    assert not is_valid(text)


def test_digit_positions_are_corrected() -> None:
    # new-energy large: positions 2-6 are digits, D/Q/B/Z/S there are misreads
    assert correct("苏E1D3B5D") == ("苏E10385D", PlateType.NEW_ENERGY_LARGE)
    assert correct("苏EQZ3S5F") == ("苏E02355F", PlateType.NEW_ENERGY_LARGE)
    # embassy: all six are digits
    assert correct("使0I4B7S") == ("使014875", PlateType.EMBASSY)
    # consulate digits
    assert correct("沪A12B4领") == ("沪A1284领", PlateType.CONSULATE)


def test_letter_positions_are_corrected() -> None:
    # position 1 is always a letter: 8 -> B, 2 -> Z, 5 -> S
    assert correct("皖812345") == ("皖B12345", PlateType.STANDARD)
    assert correct("粤212345") == ("粤Z12345", PlateType.STANDARD)
    assert correct("京512345") == ("京S12345", PlateType.STANDARD)
    # new-energy small: position 2 is D or F, so 0 -> D is unambiguous there
    assert correct("沪A012345") == ("沪AD12345", PlateType.NEW_ENERGY_SMALL)


def test_O_and_I_never_survive() -> None:
    assert correct("皖AO1I23") == ("皖A01123", PlateType.STANDARD)


def test_ambiguous_positions_are_not_guessed() -> None:
    # 0 at position 1 could be D or Q: no static correction
    assert correct("皖012345")[1] is None
    # ...but the recognizer's own alternatives may settle it
    alts = [[("皖", 0.9)], [("0", 0.5), ("Q", 0.3), ("D", 0.1)]] + [[(c, 0.9)] for c in "12345"]
    assert correct("皖012345", alts) == ("皖Q12345", PlateType.STANDARD)
    # general alnum positions are never changed while the serial holds two letters at most
    assert correct("皖AB8S52") == ("皖AB8S52", PlateType.STANDARD)


def test_a_serial_holds_two_letters_at_most() -> None:
    # three letters after the office's letter is a misread: no type fits as read ...
    for text in ("皖AZ9D8Q", "京ABCD12", "京ABCD1警", "粤ZAB1C港"):
        assert not is_valid(text)
    # ... and without the recognizer's alternatives no letter is picked as the wrong one
    assert correct("皖AB8S5Z")[1] is None
    # with them, the letter whose best digit is the most probable becomes that digit
    alts = ([[("皖", 0.99)], [("A", 0.99)], [("Z", 0.9), ("2", 0.05)], [("9", 0.99)],
             [("D", 0.8), ("0", 0.15)], [("8", 0.99)], [("Q", 0.6), ("0", 0.35), ("D", 0.02)]])
    assert correct("皖AZ9D8Q", alts) == ("皖AZ9D80", PlateType.STANDARD)
    # two too many: the two likeliest digits are taken
    looks = (("B", "8", 0.2), ("C", "0", 0.01), ("D", "0", 0.25), ("Z", "2", 0.1))
    alts4 = [[("京", 0.99)], [("A", 0.99)]] + [[(c, 0.7), (d, p)] for c, d, p in looks] + [[("5", 0.99)]]
    assert correct("京ABCDZ5", alts4) == ("京A8C0Z5", PlateType.STANDARD)
    # a green small new-energy plate's D or F is one of the two (its format allows one more)
    assert classify("粤BFA1234") is PlateType.NEW_ENERGY_SMALL


# anything, and plate-shaped reads (a province, a letter, five free characters: often three or
# more letters, so the serial rule's correction is exercised, not only the refusal)
READS = st.one_of(
    st.text(alphabet=ALPHABET + "IO", max_size=9),
    st.builds(lambda p, o, rest: p + o + "".join(rest), st.sampled_from(PROVINCES),
              st.sampled_from(LETTERS), st.lists(st.sampled_from(LETTERS + DIGITS + "IO"), min_size=5,
                                                 max_size=5)),
)


@given(text=READS, probs=st.lists(st.floats(0.0, 1.0), min_size=9, max_size=9))
def test_corrected_reads_always_fit(text: str, probs: list[float]) -> None:
    # whatever is read, a typed correction is a whole plate of that type, serial rule included
    alts = [[(c, 0.5), (DIGITS[i % 10], p)] for i, (c, p) in enumerate(zip(text, probs, strict=False))]
    for a in (None, alts):
        out, ptype = correct(text, a)
        if ptype is not None:
            assert classify(out) is ptype
            assert sum(c in LETTERS for c in out[2:]) <= MAX_SERIAL_LETTERS


def test_province_is_never_invented() -> None:
    assert correct("A812345")[1] is None
    assert correct("XA12345")[1] is None


def test_a_read_with_three_serial_letters_is_refused_saying_why(reader) -> None:
    import numpy as np

    from gateway.plates.recognizer import PlateRead

    crop = np.full((32, 96, 3), 128, np.uint8)
    text = "皖AZ9D8Q"
    sure = (0.99,) * 7
    alone = PlateRead(text, sure, tuple(((ch, 0.99),) for ch in text))
    assert reader.rejection(alone, crop) == (
        f"'{text}' fits no mainland plate format (3 letters after the office's letter, 2 at most)")
    # the recognizer's second thought at the last character is a digit: read as 皖AZ9D80
    torn = (*alone.alternatives[:6], (("Q", 0.6), ("0", 0.35)))
    assert reader.rejection(PlateRead(text, sure, torn), crop) is None
    obs = reader._validate(PlateRead(text, sure, torn), crop, 0.0, None, False)
    assert obs is not None and obs.text == "皖AZ9D80"
