"""A second plate reader, asked when the first is not sure, and how the two opinions combine.

Why: edgepost's recognizer learned most province glyphs from synthetic plates (real crops
exist for few provinces), and misses that remain are mostly characters it reads unsure. The
second reader is HyperLPR's recognizer (PyPI ``hyperlpr`` 0.0.2, converted to TFLite by
``tools/plates/convert_hyperlpr_recognizer.py``), trained by its authors on real plates: on
its own it reads fewer real crops than edgepost's, but the two err on different plates.

The rule (:func:`combine`) is a **product of experts, per character**, and only when both
readers see the same number of characters (a reader that dropped or added one says nothing
about the other's positions): the first read's distribution at each position (its top
alternatives, the rest of its probability spread evenly over the other characters) is
multiplied by the second's raised to ``weight`` and renormalised. With ``weight`` 0.5 the
second reader can overturn the first only where the first is unsure: character X read at
0.99 loses to Y only if the second is (0.99 / p1(Y))^2 times surer of Y than of X, i.e. about
10 000 times against the first's runner-up at 0.01 (its probabilities count from 1/10000).

Cost: one more model call (~0.7 ms on ai-edge-litert, ~5 ms on tflite-runtime 2.14) for the
reads that are rejected or weaker than ``plates.recognizer.second_below``; sure reads pay
nothing. Figures: models/plates/MODEL_CARD.md, "Second opinion".
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from gateway.inference.tflite import load_model
from gateway.plates.charset import ALPHABET
from gateway.plates.recognizer import PlateRead, peak_frames, softmax
from gateway.plates.warp_vote import distribution
from gateway.resources import models_dir

DEFAULT_SECOND_READER: Final[Path] = models_dir() / "plates" / "second_reader_int8.tflite"

#: the second reader's classes in its own order (HyperLPR's ``table_chs.chars``); CTC blank last
SECOND_CHARS: Final[tuple[str, ...]] = (
    *"京沪津渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
    *"港学使警澳挂军北南广沈兰成济海民航空",
)
SECOND_BLANK: Final[int] = len(SECOND_CHARS)
#: HyperLPR's own decode drops its first two time steps (they see the plate's left border)
SKIPPED_STEPS: Final[int] = 2
#: the least probability the second reader's opinion gives a character (a character it rules
#: out entirely is still the first read's if the first is sure enough)
FLOOR: Final[float] = 1e-4

# column of each of edgepost's characters in the second reader's output (-1: it has none)
_COLUMNS = np.array([SECOND_CHARS.index(c) if c in SECOND_CHARS else -1 for c in ALPHABET])


class SecondReader:
    """The second recognizer (one interpreter, not thread-safe, like :class:`PlateRecognizer`)."""

    def __init__(self, model_path: str | Path = DEFAULT_SECOND_READER, num_threads: int = 1) -> None:
        self.model = load_model(model_path, num_threads)
        _, self.input_height, self.input_width, _ = self.model.input_shape
        classes = self.model.outputs[0]["shape"][-1]
        if classes != SECOND_BLANK + 1:
            raise ValueError(f"{model_path}: {classes} output classes, the second reader has "
                             f"{SECOND_BLANK + 1} (its characters and the CTC blank)")

    def distributions(self, crop_bgr: np.ndarray) -> list[np.ndarray]:
        """Per character of its greedy CTC read, the probabilities over edgepost's ``ALPHABET``
        at that character's peak step (characters edgepost does not know are left out)."""
        import cv2

        # the original's pre-processing: a plain (bilinear) resize to its input size
        x = cv2.resize(crop_bgr, (self.input_width, self.input_height))
        x = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)[None].astype(np.float32)
        probs = softmax(self.model.run(x)[0][0][SKIPPED_STEPS:])
        out: list[np.ndarray] = []
        for _, peak in peak_frames(probs, blank=SECOND_BLANK):
            p = np.where(_COLUMNS >= 0, probs[peak][np.maximum(_COLUMNS, 0)], 0.0)
            out.append(p / max(float(p.sum()), 1e-12))
        return out


def combine(read: PlateRead, second: list[np.ndarray], weight: float, top_k: int = 3) -> PlateRead | None:
    """``read`` with ``second`` (:meth:`SecondReader.distributions` of the same crop) multiplied
    in per character, the second raised to ``weight``. None when they differ in length or
    ``read`` is empty: then the first read stands alone."""
    n = len(read.text)
    if n == 0 or len(second) != n or len(read.char_conf) != n:
        return None
    chars: list[str] = []
    confs: list[float] = []
    alts: list[tuple[tuple[str, float], ...]] = []
    for i in range(n):
        known = distribution(read, i)
        rest = max(0.0, 1.0 - sum(known.values())) / max(1, len(ALPHABET) - len(known))
        first = np.full(len(ALPHABET), rest)
        for ch, p in known.items():
            first[ALPHABET.index(ch)] = p
        fused = first * np.maximum(second[i], FLOOR) ** weight
        total = float(fused.sum())
        if not total > 0:  # a read that gave its characters no probability: nothing to weigh
            return None
        fused /= total
        order = np.argsort(-fused, kind="stable")[:top_k]
        chars.append(ALPHABET[int(order[0])])
        confs.append(float(fused[order[0]]))
        alts.append(tuple((ALPHABET[int(j)], float(fused[j])) for j in order))
    return PlateRead("".join(chars), tuple(confs), tuple(alts))
