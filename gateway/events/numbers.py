"""Numbers from the wire: CBOR carries integers of any size, and floats must be finite."""

from __future__ import annotations

import math
from typing import Any

from gateway.events.errors import EventValidationError


def finite_float(value: Any, error: str) -> float:
    """``value`` (an int or float, not a bool) as a finite float; else EventValidationError.

    Why not just ``float()``: an integer beyond the float range raises OverflowError, which
    must not escape a strict decoder (a 1100-bit CBOR integer did, before)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventValidationError(error)
    try:
        number = float(value)
    except OverflowError:
        raise EventValidationError(error) from None
    if not math.isfinite(number):
        raise EventValidationError(error)
    return number
