"""Plate colour from the crop's background pixels, refined by the plate type read from the text."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from gateway.plates.format import PlateType

if TYPE_CHECKING:
    import numpy as np


class PlateColour(StrEnum):
    """Background colour of a plate."""

    BLUE = "blue"
    YELLOW = "yellow"
    GREEN = "green"
    YELLOW_GREEN = "yellow_green"
    WHITE = "white"
    BLACK = "black"
    UNKNOWN = "unknown"


#: A frame is monochrome (an infrared or black-and-white camera: no colour to judge) when fewer
#: than MONO_SHARE of its pixels differ by more than MONO_SPREAD levels between their colour
#: channels (a monochrome stream decodes to equal channels, give or take rounding). Judged on
#: the whole frame, not on a plate: a black or white plate can be neutral in a colour camera
#: too, a colour camera's frame is not. Of the real frames in ../shared/media (photos, and every
#: 5th frame of both videos) the least colourful, a dim highway, has about 31 % such pixels.
MONO_SPREAD = 2
MONO_SHARE = 0.01
#: every MONO_STEP-th pixel of each row and column is looked at: 14 400 of a 1280x720 frame,
#: ~0.04 ms (the reader asks once per vehicle, so this must stay cheap)
MONO_STEP = 8


def is_monochrome(frame_bgr: np.ndarray) -> bool:
    """True when ``frame_bgr`` carries no colour (see :data:`MONO_SHARE`); False for unusable input."""
    import cv2
    import numpy as np

    if not isinstance(frame_bgr, np.ndarray) or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 \
            or frame_bgr.size == 0:
        return False
    px = frame_bgr[::MONO_STEP, ::MONO_STEP]
    b, g, r = (np.ascontiguousarray(px[..., i]) for i in range(3))
    spread = cv2.max(cv2.max(cv2.absdiff(b, g), cv2.absdiff(g, r)), cv2.absdiff(b, r))
    return bool(np.count_nonzero(spread > MONO_SPREAD) < MONO_SHARE * spread.size)


#: Haze, fog, glare and washed-out cameras add light to every pixel (a x colour + b): a yellow
#: plate then measures pale enough to pass for white, and :func:`colour_fits` refused it as a
#: foreign white plate (real training-side toll-lane photos at a third of their contrast: 75 of
#: 112 read, most of the rest read right and refused on colour). The plate's levels are first
#: stretched to the full range, the same for all three channels, so that a neutral plate stays
#: neutral; levels spanning less than this are left alone (a blank panel, not a washed-out plate).
STRETCH_MIN_RANGE = 40.0
#: the darkest and brightest levels kept by the stretch (percentiles over all channels)
STRETCH_PERCENTILES = (2.0, 98.0)


def stretched(region_bgr: np.ndarray) -> np.ndarray:
    """``region_bgr`` with its levels stretched to 0..255, one map for all channels (see
    :data:`STRETCH_MIN_RANGE`); unchanged when they span less than that."""
    import numpy as np

    flat = region_bgr.reshape(-1)
    if flat.size == 0:
        return region_bgr
    # the two order statistics (nearest rank) directly: for uint8 levels from their histogram
    # (~17 us on a plate crop, np.partition ~70 us, np.percentile more)
    k = [min(flat.size - 1, int(p / 100.0 * (flat.size - 1) + 0.5)) for p in STRETCH_PERCENTILES]
    if flat.dtype == np.uint8:
        ranks = np.cumsum(np.bincount(flat, minlength=256))
        lo, hi = (float(v) for v in np.searchsorted(ranks, [k[0] + 1, k[1] + 1]))
    else:
        lo, hi = (float(v) for v in np.partition(flat, k)[k])
    if hi - lo < STRETCH_MIN_RANGE:
        return region_bgr
    out = (region_bgr.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def classify_colour(crop_bgr: np.ndarray) -> PlateColour:
    """Classify a plate crop's background colour from HSV statistics of its central region.

    The background is taken to be the majority of the central area (characters cover less
    than half of a plate), its levels first stretched (:func:`stretched`: haze and glare).
    Returns ``UNKNOWN`` for unusable input.
    """
    import cv2
    import numpy as np

    if not isinstance(crop_bgr, np.ndarray) or crop_bgr.ndim != 3 or min(crop_bgr.shape[:2]) < 4:
        return PlateColour.UNKNOWN
    h, w = crop_bgr.shape[:2]
    centre = stretched(crop_bgr[h // 6 : h - h // 6, w // 12 : w - w // 12])
    hsv = cv2.cvtColor(centre, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    n = len(hue)
    coloured = (sat > 70) & (val > 50)
    votes = {
        PlateColour.BLUE: int(np.count_nonzero(coloured & (hue >= 95) & (hue <= 130))),
        PlateColour.YELLOW: int(np.count_nonzero(coloured & (hue >= 12) & (hue <= 34))),
        PlateColour.GREEN: int(np.count_nonzero(coloured & (hue > 34) & (hue < 95))),
    }
    best = max(votes, key=lambda k: votes[k])
    if votes[best] > 0.3 * n:
        return best
    dark = np.count_nonzero(val < 70)
    bright = np.count_nonzero((val > 150) & (sat < 60))
    if dark > 0.45 * n:
        return PlateColour.BLACK
    if bright > 0.4 * n:
        return PlateColour.WHITE
    if votes[best] > 0.15 * n:
        return best
    return PlateColour.UNKNOWN


_TYPE_COLOUR = {
    PlateType.POLICE: PlateColour.WHITE,
    PlateType.COACH: PlateColour.YELLOW,
    PlateType.TRAILER: PlateColour.YELLOW,
    PlateType.HONG_KONG: PlateColour.BLACK,
    PlateType.MACAU: PlateColour.BLACK,
    PlateType.CONSULATE: PlateColour.BLACK,
    PlateType.EMBASSY: PlateColour.BLACK,
    PlateType.NEW_ENERGY_SMALL: PlateColour.GREEN,
    PlateType.NEW_ENERGY_LARGE: PlateColour.YELLOW_GREEN,
}


def _text_is_light(crop_bgr: np.ndarray) -> bool:
    """True when the characters are lighter than the background (blue/black plates).

    Otsu splits the central area in two; characters cover the smaller share of a plate.
    """
    import cv2

    h, w = crop_bgr.shape[:2]
    centre = crop_bgr[h // 5 : h - h // 5, w // 10 : w - w // 10]
    gray = cv2.cvtColor(centre, cv2.COLOR_BGR2GRAY)
    _, th = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(th.mean()) / 255.0 < 0.5


def plate_colour(crop_bgr: np.ndarray, plate_type: PlateType | None, monochrome: bool = False) -> PlateColour:
    """The plate's colour: fixed by the type where the regulations fix it, else measured.

    A ``STANDARD`` plate is blue, yellow (dark text) or black (light text on an unsaturated
    dark background): unless the background is clearly blue, text polarity decides, which
    is robust to colour casts from street lights and white balance. From a ``monochrome``
    frame only the type can tell (else ``UNKNOWN``).
    """
    fixed = _TYPE_COLOUR.get(plate_type) if plate_type is not None else None
    if fixed is not None:
        return fixed
    if monochrome:
        return PlateColour.UNKNOWN  # from a monochrome frame (is_monochrome): no colour to measure
    measured = classify_colour(crop_bgr)
    if plate_type is not PlateType.STANDARD or measured is PlateColour.BLUE:
        return measured
    light_text = _text_is_light(crop_bgr)
    if measured is PlateColour.BLACK and light_text and _blue_share(crop_bgr) < 0.1:
        return PlateColour.BLACK
    return PlateColour.BLUE if light_text else PlateColour.YELLOW


def _blue_share(crop_bgr: np.ndarray) -> float:
    import cv2

    hsv = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2HSV)
    hue, sat = hsv[..., 0], hsv[..., 1]
    return float(((hue >= 95) & (hue <= 130) & (sat > 40)).mean())


#: plate types whose background may measure white: police plates are white; the green
#: gradient of new-energy plates is near white at the top and can measure white in poor light
_WHITE_TYPES = frozenset({PlateType.POLICE, PlateType.NEW_ENERGY_SMALL, PlateType.NEW_ENERGY_LARGE})


def colour_fits(crop_bgr: np.ndarray, plate_type: PlateType | None, monochrome: bool = False) -> bool:
    """False when the crop's background contradicts the read's plate type.

    Why: a recognizer reads *something* off any plate-like crop, and a foreign (e.g. Danish
    or British) plate or a white text panel can come out as a well-formed mainland text. On
    the mainland a white plate with dark characters is a police plate (ending 警), so a
    white, dark-text crop read as any other type (except new-energy, whose pale gradient can
    measure white) is not a mainland plate. The text polarity check keeps dark blue plates
    with bright characters, which the background statistics alone can take for white.
    Unusable crops, unknown types and crops of a ``monochrome`` frame (:func:`is_monochrome`:
    an infrared or black-and-white camera, where a yellow plate is light grey with dark text)
    are not judged (True).
    """
    if plate_type is None or plate_type in _WHITE_TYPES or monochrome:
        return True
    if classify_colour(crop_bgr) is not PlateColour.WHITE:
        return True
    return _text_is_light(crop_bgr)
