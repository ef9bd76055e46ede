"""Real checkpoint scenes of ``../shared/plates/real_scenes_hyperlpr``: labels, split, masking, crops.

Why this module: the recognizer's old validation split is 117 of 121 Anhui crops, so it says
nothing about other provinces or about finding plates in a frame. The 212 toll-lane photos
of ``real_scenes_hyperlpr`` are real scenes from another source (mostly Zhejiang); they give
a second real validation set at two levels, crops and scenes.

The split is **by plate text** (every text occurs once in this set and in no dev crop):
a plate is **validation** when ``sha256(text.encode("utf-8")).digest()[0] % 2 == 0``
(100 plates: 浙 69, 苏 11, 沪 7, 皖 5, 粤/豫/赣 2, 川/鄂 1; 72 blue, 28 yellow); the other
112 may be used for training. The rule depends on the text only, so a plate can never sit
on both sides whatever file it appears in.

Every photo carries a red rectangle and a red bar drawn by the tool that saved it.
:func:`mask_overlay` finds those saturated-red pixels near the labelled box and inpaints
them (OpenCV Telea) so a plate finder is judged on the scene, not on a red frame. Caveat:
the inpainted strokes are smooth where the real scene had texture, and they sit a few pixels
around the plate; the full 1600x1200 frames also keep a white band top left (a blanked
timestamp), which is no plate-like texture and is left as is.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SCENES = Path(__file__).resolve().parents[2].parent / "shared" / "plates" / "real_scenes_hyperlpr"

#: saturated red of the drawn overlay (BGR): the tool drew pure (0, 0, 255) with antialiasing
RED_MIN_R, RED_MAX_GB = 150, 90
#: how far around the labelled box the overlay is searched (px): the bar sits above the box
OVERLAY_REACH = 40


#: Labels the photo contradicts, corrected (labels.csv text -> what the plate shows). The set is
#: a 2017 folder of an old reader's *bad* reads, named by that reader's output, so some names
#: are wrong. Audit: every validation plate whose read by this chain differed from its label was
#: looked at full size; a label is corrected only where every character is unambiguous on the
#: plate. Plates where the label and the reader are wrong the same way were not audited, so
#: ``evaluate_scenes`` also reports the figure against the listed labels.
LABEL_CORRECTIONS: dict[str, str] = {
    "浙A5709F": "浙A5709E",  # last character is an E (three bars, open right)
    "浙DX0L91": "浙DX0L19",  # the plate ends 1-9, not 9-1
    "浙EL332L": "浙EWL332",  # reads E·WL332: no trailing L
    "浙F522H6": "浙F522N6",  # diagonal stroke: N, not H
    "浙FF8227": "浙FE8227",  # second letter is an E
    "浙P63792": "浙F63792",  # the city letter is an F (open bottom, no bowl)
    "皖K08022": "皖KG8022",  # a G after K, not a 0
    "鄂A1FG93": "浙A1FG93",  # the province character is 浙 (water radical), not 鄂
}


@dataclass(frozen=True)
class SceneLabel:
    """One labelled photo: file, plate text, the drawn box (x, y, w, h) and plate colour.

    ``text`` is the audited text (:data:`LABEL_CORRECTIONS`), ``listed`` the one in labels.csv."""

    filename: str
    text: str
    box: tuple[int, int, int, int]
    colour: str
    listed: str = ""

    @property
    def province(self) -> str:
        """The plate's first character (province abbreviation)."""
        return self.text[0]


def is_validation_text(text: str) -> bool:
    """True when the plate ``text`` belongs to the validation side (hash of the text only)."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0


def read_labels(root: Path = DEFAULT_SCENES) -> list[SceneLabel]:
    """All rows of ``labels.csv`` in file order."""
    path = root / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"real scene labels not found: {path} (the shared data must sit at ../shared)"
        )
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        SceneLabel(
            r["filename"],
            LABEL_CORRECTIONS.get(r["plate_text"], r["plate_text"]),
            (int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])),
            r["colour"],
            r["plate_text"],
        )
        for r in rows
    ]


def split(root: Path = DEFAULT_SCENES) -> tuple[list[SceneLabel], list[SceneLabel]]:
    """``(train, validation)`` split by plate text (the listed one: a correction never moves a plate)."""
    rows = read_labels(root)
    return (
        [r for r in rows if not is_validation_text(r.listed)],
        [r for r in rows if is_validation_text(r.listed)],
    )


def load_bgr(label: SceneLabel, root: Path = DEFAULT_SCENES) -> np.ndarray:
    """The photo as BGR uint8, unmasked (CJK path: decoded from bytes)."""
    import cv2

    img = cv2.imdecode(np.fromfile(str(root / label.filename), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode {root / label.filename}")
    return img


def overlay_mask(img_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 mask (255 = overlay) of the saturated red strokes around ``box``."""
    import cv2

    b, g, r = (img_bgr[..., i].astype(np.int16) for i in range(3))
    red = (r >= RED_MIN_R) & (g <= RED_MAX_GB) & (b <= RED_MAX_GB) & (r - np.maximum(g, b) >= 100)
    x, y, w, h = box
    near = np.zeros(red.shape, bool)
    y0, y1 = max(0, y - OVERLAY_REACH), min(red.shape[0], y + h + OVERLAY_REACH)
    x0, x1 = max(0, x - OVERLAY_REACH), min(red.shape[1], x + w + OVERLAY_REACH)
    near[y0:y1, x0:x1] = True  # only here: the scene's own red objects (poles, lamps) stay
    mask = (red & near).astype(np.uint8) * 255
    # antialiased stroke edges are pinkish, not saturated: grow the mask by 2 px to take them too
    return cv2.dilate(mask, np.ones((5, 5), np.uint8))


def mask_overlay(img_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The photo with the drawn red rectangle and bar inpainted away."""
    import cv2

    return cv2.inpaint(img_bgr, overlay_mask(img_bgr, box), 3, cv2.INPAINT_TELEA)


def load_masked(label: SceneLabel, root: Path = DEFAULT_SCENES) -> np.ndarray:
    """The photo with its overlay masked: what a plate finder may be judged on."""
    return mask_overlay(load_bgr(label, root), label.box)


def box_crop(img_bgr: np.ndarray, label: SceneLabel, inset: int = 4) -> np.ndarray:
    """The region inside the drawn box (``inset`` px in, past the 3 px red line)."""
    x, y, w, h = label.box
    return img_bgr[y + inset : y + h - inset, x + inset : x + w - inset]
