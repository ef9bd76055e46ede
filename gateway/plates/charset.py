"""The mainland Chinese licence-plate alphabet shared by the recognizer, its training and rules.

The recognizer's output classes are ``BLANK`` (index 0, the CTC blank) followed by
``ALPHABET`` in this exact order. Changing the order invalidates the committed model.
"""

from __future__ import annotations

from typing import Final

#: The 31 provincial-level abbreviations used as the first character of civil plates.
PROVINCES: Final[str] = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
#: Latin letters on plates: A-Z without I and O.
LETTERS: Final[str] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS: Final[str] = "0123456789"
#: Special trailing/leading characters: police, coach, trailer, Hong Kong, Macau, embassy, consulate.
SPECIALS: Final[str] = "警学挂港澳使领"

ALPHABET: Final[str] = PROVINCES + LETTERS + DIGITS + SPECIALS
BLANK_INDEX: Final[int] = 0
#: Number of recognizer output classes (blank + alphabet).
NUM_CLASSES: Final[int] = len(ALPHABET) + 1

CHAR_TO_INDEX: Final[dict[str, int]] = {c: i + 1 for i, c in enumerate(ALPHABET)}
INDEX_TO_CHAR: Final[dict[int, str]] = {i + 1: c for i, c in enumerate(ALPHABET)}

assert len(PROVINCES) == 31
assert len(set(ALPHABET)) == len(ALPHABET)


def encode(text: str) -> list[int]:
    """Map plate text to class indices (raises ``KeyError`` on a character outside the alphabet)."""
    return [CHAR_TO_INDEX[c] for c in text]


def decode(indices: list[int]) -> str:
    """Map class indices back to text, skipping the blank."""
    return "".join(INDEX_TO_CHAR[i] for i in indices if i != BLANK_INDEX)
