"""Mainland plate formats: validation per plate type and position-based confusable correction.

Formats (P = province abbreviation, L = letter without I/O, X = letter or digit, d = digit):

============================  ====================  =========  ======
type                          pattern               colour     length
============================  ====================  =========  ======
``STANDARD``                  P L X X X X X         blue/yellow/black  7
``NEW_ENERGY_SMALL``          P L [DF] X d d d d    green      8
``NEW_ENERGY_LARGE``          P L d d d d d [DF]    yellow-green 8
``POLICE``                    P L X X X X 警        white      7
``COACH``                     P L X X X X 学        yellow     7
``TRAILER``                   P L X X X X 挂        yellow     7
``HONG_KONG`` / ``MACAU``     粤 Z X X X X 港/澳    black      7
``CONSULATE``                 P L d d d d 领        black      7
``EMBASSY``                   使 d d d d d d        black      7
============================  ====================  =========  ======

Correction is applied only at positions where the format admits a single class (digits only,
letters only, or D/F only) **and** the misread character has exactly one look-alike in that
class: ``D/Q -> 0``, ``B -> 8``, ``Z -> 2``, ``S -> 5`` at digit positions; ``8 -> B``,
``2 -> Z``, ``5 -> S`` at letter positions; ``0 -> D`` at a D/F position. (``I`` and ``O`` never
appear on mainland plates and are mapped to ``1`` and ``0`` first.) ``0`` at a general letter
position stays ambiguous (D or Q) and is only resolved from the recognizer's alternatives.

Every type also holds at most :data:`MAX_SERIAL_LETTERS` letters after the province and the
issuing office's letter. A read with more is a letter read where a digit stands: it is corrected
at the free positions whose best digit alternative the recognizer gives most, and refused when
its alternatives hold no digit there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from gateway.plates.charset import DIGITS, LETTERS, PROVINCES


class PlateType(StrEnum):
    """Plate types (format families)."""

    STANDARD = "standard"
    NEW_ENERGY_SMALL = "new_energy_small"
    NEW_ENERGY_LARGE = "new_energy_large"
    POLICE = "police"
    COACH = "coach"
    TRAILER = "trailer"
    HONG_KONG = "hong_kong"
    MACAU = "macau"
    CONSULATE = "consulate"
    EMBASSY = "embassy"


_P = f"[{PROVINCES}]"
_L = f"[{LETTERS}]"
_X = f"[{LETTERS}{DIGITS}]"
_D = "[0-9]"

# position classes: "P" province, "L" letter, "X" alnum, "D" digit, "F" D-or-F, literal otherwise
_LAYOUTS: dict[PlateType, str] = {
    PlateType.STANDARD: "PLXXXXX",
    PlateType.NEW_ENERGY_SMALL: "PLFXDDDD",
    PlateType.NEW_ENERGY_LARGE: "PLDDDDDF",
    PlateType.POLICE: "PLXXXX警",
    PlateType.COACH: "PLXXXX学",
    PlateType.TRAILER: "PLXXXX挂",
    PlateType.HONG_KONG: "粤ZXXXX港",
    PlateType.MACAU: "粤ZXXXX澳",
    PlateType.CONSULATE: "PLDDDD领",
    PlateType.EMBASSY: "使DDDDDD",
}
#: Letters a plate holds at most after its province and issuing office's letter. The national
#: numbering rule (GA 36) allows two letters in a serial, and the data agree: of the 716 real
#: labelled plates in ../shared (dev_crops 504, real_scenes_hyperlpr 212), 397 hold two letters
#: there and none three or more, where serials drawn freely at the same share of letters would
#: hold three in about one of six. The synthetic plates keep the rule too (models/plates/synth.py).
#: For a green small new-energy plate the D/F counts: D or F plus one letter at most.
MAX_SERIAL_LETTERS = 2

_CLASS_RE = {"P": _P, "L": _L, "X": _X, "D": _D, "F": "[DF]"}
_CLASS_CHARS = {"P": PROVINCES, "L": LETTERS, "X": LETTERS + DIGITS, "D": DIGITS, "F": "DF"}
_PATTERNS: dict[PlateType, re.Pattern[str]] = {
    t: re.compile("^" + "".join(_CLASS_RE.get(c, re.escape(c)) for c in layout) + "$")
    for t, layout in _LAYOUTS.items()
}

_TO_DIGIT = {"D": "0", "Q": "0", "O": "0", "I": "1", "B": "8", "Z": "2", "S": "5"}
_TO_LETTER = {"8": "B", "2": "Z", "5": "S"}
_TO_DF = {"0": "D", "O": "D", "Q": "D"}
_GLOBAL = {"O": "0", "I": "1"}


def classify(text: str) -> PlateType | None:
    """The plate type whose format ``text`` matches exactly, or ``None``.

    Special endings win over ``STANDARD`` (粤Z1234港 is HONG_KONG, not a malformed standard).
    A text with more than :data:`MAX_SERIAL_LETTERS` letters after its second character fits
    no type.
    """
    if serial_letters(text) > MAX_SERIAL_LETTERS:
        return None
    for t, pat in _PATTERNS.items():
        if pat.match(text):
            return t
    return None


def serial_letters(text: str | Sequence[str]) -> int:
    """How many letters ``text`` holds after its second character (see :data:`MAX_SERIAL_LETTERS`)."""
    return sum(c in LETTERS for c in text[2:])


def is_valid(text: str) -> bool:
    """True when ``text`` is a well-formed mainland plate of any known type."""
    return classify(text) is not None


def _candidate_layouts(text: str) -> list[tuple[PlateType, str]]:
    out = []
    for t, layout in _LAYOUTS.items():
        if len(layout) != len(text):
            continue
        ok = True
        for ch, cls in zip(text, layout, strict=True):
            if cls not in _CLASS_CHARS and ch != cls:
                ok = False  # a literal (警, 粤, 使 ...) must be read as such
                break
            if cls == "P" and ch not in PROVINCES:
                ok = False
                break
        if ok:
            out.append((t, layout))
    return out


def _fix(ch: str, cls: str) -> str | None:
    """``ch`` fitted into class ``cls`` by the unambiguous maps, or None."""
    if cls not in _CLASS_CHARS:
        return ch if ch == cls else None
    allowed = _CLASS_CHARS[cls]
    if ch in allowed:
        return ch
    if cls == "D":
        c = _TO_DIGIT.get(ch)
    elif cls == "L":
        c = _TO_LETTER.get(ch)
    elif cls == "F":
        c = _TO_DF.get(ch)
    else:
        c = _GLOBAL.get(ch)
    return c if c is not None and c in allowed else None


def correct(
    text: str,
    alternatives: Sequence[Sequence[tuple[str, float]]] | None = None,
) -> tuple[str, PlateType | None]:
    """Return ``(corrected_text, type)``; ``type`` is None when no format fits.

    Characters are changed only where a layout fixes the position's class and the fix is
    unambiguous (see the module doc), or where the recognizer's own top alternatives at that
    position contain exactly the class needed (``alternatives[i]`` = ``[(char, prob), ...]``).
    When several layouts fit after correction, the one needing the fewest changes wins;
    ties go to the order of :class:`PlateType`.
    """
    text = "".join(_GLOBAL.get(c, c) for c in text)
    t = classify(text)
    if t is not None:
        return text, t
    best: tuple[int, str, PlateType] | None = None
    for ptype, layout in _candidate_layouts(text):
        out = []
        changes = 0
        for i, (ch, cls) in enumerate(zip(text, layout, strict=True)):
            c = _fix(ch, cls)
            if c is None and alternatives is not None and i < len(alternatives) and cls in _CLASS_CHARS:
                allowed = _CLASS_CHARS[cls]
                alts = [a for a, _ in alternatives[i] if a in allowed]
                c = alts[0] if alts else None
            if c is None:
                break
            changes += c != ch
            out.append(c)
        else:
            fewer = _fewer_letters(out, layout, alternatives)
            if fewer is None:
                continue
            cand = "".join(fewer)
            changes += sum(a != b for a, b in zip(out, fewer, strict=True))
            if classify(cand) is ptype and (best is None or changes < best[0]):
                best = (changes, cand, ptype)
    if best is None:
        return text, None
    return best[1], best[2]


def _fewer_letters(
    chars: list[str], layout: str, alternatives: Sequence[Sequence[tuple[str, float]]] | None
) -> list[str] | None:
    """``chars`` with no more than :data:`MAX_SERIAL_LETTERS` letters after the second: the
    letters at free positions whose best digit alternative is most probable become that digit.
    None when the alternatives offer too few digits (a read without alternatives is not
    guessed at: which letter is the misread one is the recognizer's to say)."""
    excess = serial_letters(chars) - MAX_SERIAL_LETTERS
    if excess <= 0:
        return chars
    options: list[tuple[float, int, str]] = []
    for i in range(2, len(chars)):
        if layout[i] != "X" or chars[i] not in LETTERS or alternatives is None or i >= len(alternatives):
            continue
        digits = [(p, a) for a, p in alternatives[i] if a in DIGITS]
        if digits:
            p, d = max(digits)
            options.append((p, i, d))
    if len(options) < excess:
        return None
    out = list(chars)
    for _, i, d in sorted(options, reverse=True)[:excess]:
        out[i] = d
    return out
