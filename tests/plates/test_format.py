"""Format validation per plate type and position-based correction of confusable characters."""

from __future__ import annotations

import pytest

from gateway.plates.charset import ALPHABET, NUM_CLASSES, PROVINCES, decode, encode
from gateway.plates.format import PlateType, classify, correct, is_valid


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
    # general alnum positions are never changed
    assert correct("皖AB8S5Z") == ("皖AB8S5Z", PlateType.STANDARD)


def test_province_is_never_invented() -> None:
    assert correct("A812345")[1] is None
    assert correct("XA12345")[1] is None
