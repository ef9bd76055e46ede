"""The province reader: a small classifier of a plate's first character, and how its opinion
enters the recognizer's read.

Why: two thirds of the plates the synthetic province set misses are missed on the province
glyph alone (read as another province, or rejected below the minimum confidence), small plates
above all (models/plates/MODEL_CARD.md, "Province reader"). The CTC recognizer shares one
network across eight positions and ~70 classes; this classifier (``models/plates/
train_province.py``) sees only the left half of the same 96x32 input and answers only which of
the 31 provinces it is. It costs one small model call per read.

The rule (:func:`fuse`) is a product of experts on the first character, and only when the
recognizer's first character is a province: the recognizer's probability of each province (its
top alternatives, the rest of its province mass spread evenly) is multiplied by the
classifier's raised to ``weight`` and renormalised to the recognizer's own province mass. So
the classifier decides *which* province, never *whether* the first character is one: a read
that begins with a letter (a dropped province) is left as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import numpy as np

from gateway.inference.tflite import load_model
from gateway.plates.charset import ALPHABET, PROVINCES
from gateway.plates.recognizer import PlateRead, calibration_path, softmax
from gateway.plates.warp_vote import distribution
from gateway.resources import models_dir

DEFAULT_PROVINCE_READER: Final[Path] = models_dir() / "plates" / "province_int8.tflite"


class ProvinceReader:
    """The province classifier (one interpreter, not thread-safe, like the recognizer)."""

    def __init__(
        self,
        model_path: str | Path = DEFAULT_PROVINCE_READER,
        num_threads: int = 1,
        weight: float = 0.75,
        sure_above: float = 1.01,
    ) -> None:
        self.model = load_model(model_path, num_threads)
        #: exponent of this reader's probabilities in the product (:func:`fuse`)
        self.weight = weight
        #: reads whose province the recognizer gives at least this keep it without a call (above
        #: 1: every read is weighed)
        self.sure_above = sure_above
        #: temperature of the product (``<model>.calibration.json``; 1 without one)
        self.temperature = load_temperature(model_path)
        classes = self.model.outputs[0]["shape"][-1]
        if classes != len(PROVINCES):
            raise ValueError(f"{model_path}: {classes} output classes, the province reader has "
                             f"{len(PROVINCES)} (one per province)")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Probabilities over ``PROVINCES`` for the recognizer's prepared input ``x`` (1x32x96x3)."""
        return softmax(self.model.run(x)[0][0])

    def is_sure(self, read: PlateRead) -> bool:
        """Whether the recognizer's own confidence in ``read``'s first character reaches
        ``sure_above``, so that :meth:`refine` keeps it without a call."""
        return bool(read.char_conf) and read.char_conf[0] >= self.sure_above

    def refine(self, read: PlateRead, x: np.ndarray) -> PlateRead:
        """``read`` (the recognizer's read of ``x``) with this reader's opinion fused in."""
        if not read.text or read.text[0] not in PROVINCES:
            return read  # no province to weigh: save the call
        if self.is_sure(read):
            return read  # the recognizer is sure: the product would not change its choice
        return fuse(read, self.probabilities(x), self.weight, temperature=self.temperature)


def load_temperature(model_path: str | Path) -> float:
    """The temperature fitted for the fused province (``temperature_fused`` in
    ``<model>.calibration.json`` beside the model, written by ``models/plates/calibrate.py``);
    1.0 without one."""
    path = calibration_path(model_path)
    if not path.is_file():
        return 1.0
    return float(json.loads(path.read_text(encoding="utf-8")).get("temperature_fused", 1.0))


def fuse(
    read: PlateRead, province: np.ndarray, weight: float, top_k: int = 3, temperature: float = 1.0
) -> PlateRead:
    """``read`` with its first character's province distribution multiplied by ``province``
    (:meth:`ProvinceReader.probabilities`) raised to ``weight``, the product softened by
    ``temperature``; unchanged unless the first character is a province.

    Why a temperature: two experts that agree multiply into more confidence than either has,
    and their errors are not independent (both see the same glyph), so the raw product is
    over-confident (session 11: reads at 0.70-0.90 were 72 % exact)."""
    if not read.text or read.text[0] not in PROVINCES or not read.char_conf:
        return read
    known = distribution(read, 0)
    mass = sum(p for ch, p in known.items() if ch in PROVINCES)
    named = [ch for ch in known if ch in PROVINCES]
    # what the recognizer left unnamed is spread evenly over all the other characters; the
    # provinces' share of it is the unnamed provinces' prior
    rest = max(0.0, 1.0 - sum(known.values())) / max(1, len(ALPHABET) - len(known))
    first = np.array([known.get(ch, rest) for ch in PROVINCES])
    fused = first * np.maximum(province, 1e-6) ** weight
    if temperature != 1.0 and fused.max() > 0:
        fused = np.exp((np.log(np.maximum(fused, 1e-300)) - np.log(float(fused.max()))) / temperature)
    total = float(fused.sum())
    if not total > 0:
        return read
    fused *= (mass + rest * (len(PROVINCES) - len(named))) / total
    order = np.argsort(-fused, kind="stable")
    best = PROVINCES[int(order[0])]
    # the chosen province first (the read's character), then the other provinces and the
    # recognizer's non-province alternatives (their probability unchanged) by probability
    others = [(PROVINCES[int(j)], float(fused[j])) for j in order[1:top_k]]
    others += [(ch, p) for ch, p in known.items() if ch not in PROVINCES]
    alts = [(best, float(fused[order[0]])), *sorted(others, key=lambda a: -a[1])[: top_k - 1]]
    return PlateRead(
        best + read.text[1:],
        (float(fused[order[0]]), *read.char_conf[1:]),
        (tuple(alts), *read.alternatives[1:]),
    )
