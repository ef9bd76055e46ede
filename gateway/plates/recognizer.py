"""The plate recognizer: a small int8 CTC model that reads a tight plate crop.

Input: a plate crop as a BGR ``uint8`` image (OpenCV's order), any size; it is resized to the
model's 96x32 input. Output: a :class:`PlateRead` with text, per-character confidence and the
top alternatives per character (used by the format rules to resolve confusable characters).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gateway.inference import load_model
from gateway.plates.charset import BLANK_INDEX, CHAR_TO_INDEX, INDEX_TO_CHAR, PROVINCES
from gateway.plates.glare import lift_glare
from gateway.plates.shadow import even_out, sorted_columns
from gateway.resources import models_dir

if TYPE_CHECKING:  # province.py builds on this module's PlateRead
    from gateway.plates.province import ProvinceReader

DEFAULT_RECOGNIZER = models_dir() / "plates" / "recognizer_int8.tflite"


@dataclass(frozen=True)
class PlateRead:
    """One read of one plate crop."""

    text: str
    #: probability of each character of ``text`` (0..1)
    char_conf: tuple[float, ...]
    #: per character, the top-3 ``(char, prob)`` alternatives at that character's peak frame
    alternatives: tuple[tuple[tuple[str, float], ...], ...] = field(default=(), repr=False)

    @property
    def confidence(self) -> float:
        """The weakest character's probability (0 when nothing was read)."""
        return min(self.char_conf) if self.char_conf else 0.0


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (CTC logits per time step -> probabilities)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def peak_frames(probs: np.ndarray, blank: int = BLANK_INDEX) -> list[tuple[int, int]]:
    """Greedy CTC path of a ``(T, C)`` matrix: ``(class index, peak frame)`` per character.

    A character's segment is the run of frames with the same argmax; its peak is the frame
    where that class is most probable. ``blank``: the CTC blank's class (another model's)."""
    best = probs.argmax(-1)
    out: list[tuple[int, int]] = []
    prev = blank
    t = 0
    T = len(best)
    while t < T:
        k = int(best[t])
        if k in (blank, prev):
            prev = k
            t += 1
            continue
        t_end = t
        while t_end + 1 < T and best[t_end + 1] == k:
            t_end += 1
        out.append((k, t + int(probs[t : t_end + 1, k].argmax())))
        prev = k
        t = t_end + 1
    return out


def tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / temperature)``: the same ranking, calibrated confidence."""
    if temperature == 1.0:
        return p
    return softmax(np.log(np.maximum(p, 1e-12)) / temperature)


def ctc_decode(
    probs: np.ndarray, top_k: int = 3, temperatures: tuple[float, float] = (1.0, 1.0),
    province_prior: np.ndarray | None = None,
) -> PlateRead:
    """Greedy CTC decode of a ``(T, C)`` probability matrix.

    ``temperatures`` = (first character, other characters): the confidences and alternatives
    are taken from the peak frame's distribution softened by that temperature (calibration);
    the text itself does not depend on them. ``province_prior``: the model's learnt log-prior
    of each province (``PROVINCES`` order, :func:`load_province_prior`), divided out of a first
    character that is a province; it may change *which* province is read, never whether one is
    or any other character."""
    peaks = peak_frames(probs)
    if not peaks:
        return PlateRead("", (), ())
    ks = [k for k, _ in peaks]
    rows = probs[[t for _, t in peaks]]  # each character's peak-frame distribution, (n, C)
    # one array operation for all characters (this runs for every read): the same values as
    # tempered() row by row, the first character at its own temperature
    temps = np.full(len(ks), temperatures[1], dtype=rows.dtype)
    temps[0] = temperatures[0]
    hot = temps != 1.0
    if hot.any():
        rows = rows.copy()
        rows[hot] = softmax(np.log(np.maximum(rows[hot], 1e-12)) / temps[hot, None])
    moved = province_prior is not None and ks[0] in _PROVINCE_SET
    if moved:
        rows, ks[0] = _without_prior(rows, province_prior)
    order = np.argsort(-rows, axis=1)[:, : top_k + 1]
    picked = np.take_along_axis(rows, order, axis=1).tolist()
    alts = tuple(
        tuple((INDEX_TO_CHAR[i], p) for i, p in zip(o, ps, strict=True) if i != BLANK_INDEX)[:top_k]
        for o, ps in zip(order.tolist(), picked, strict=True)
    )
    if moved:  # the read province leads its alternatives even where a letter is likelier
        chosen = INDEX_TO_CHAR[ks[0]]
        first = ((chosen, float(rows[0, ks[0]])), *(a for a in alts[0] if a[0] != chosen))
        alts = (first[:top_k], *alts[1:])
    confs = tuple(float(rows[j, k]) for j, k in enumerate(ks))
    return PlateRead("".join(INDEX_TO_CHAR[k] for k in ks), confs, alts)


#: class indices of the provinces, in ``PROVINCES`` order
_PROVINCE_INDEX = np.array([CHAR_TO_INDEX[ch] for ch in PROVINCES])
_PROVINCE_SET = frozenset(_PROVINCE_INDEX.tolist())


def _without_prior(rows: np.ndarray, log_prior: np.ndarray) -> tuple[np.ndarray, int]:
    """``rows`` with the first row's provinces divided by ``exp(log_prior)`` and renormalised to
    their own mass (so the chance that the first character is a province at all is kept), and
    the first character's new class."""
    rows = rows.copy()
    first = rows[0, _PROVINCE_INDEX]
    mass = float(first.sum())
    adjusted = first * np.exp(-log_prior)
    rows[0, _PROVINCE_INDEX] = adjusted * (mass / float(adjusted.sum()))
    return rows, int(_PROVINCE_INDEX[int(np.argmax(adjusted))])


class PlateRecognizer:
    """Reads plate crops with the committed int8 TFLite CTC model (one interpreter, not thread-safe)."""

    def __init__(
        self, model_path: str | Path = DEFAULT_RECOGNIZER, num_threads: int = 1,
        province: ProvinceReader | None = None, even_shadows: bool = True, lift_glare: bool = False,
    ) -> None:
        self.model = load_model(model_path, num_threads)
        _, self.input_height, self.input_width, _ = self.model.input_shape
        self.temperatures = load_calibration(model_path)
        #: the model's learnt province log-prior, divided out of each read's first character
        self.province_prior = load_province_prior(model_path)
        #: the province classifier whose opinion is fused into each read's first character
        #: (gateway/plates/province.py); None reads with the CTC model alone
        self.province = province
        #: hard shadows across a plate evened out before it is read (gateway/plates/shadow.py)
        self.even_shadows = even_shadows
        #: a glare across part of a plate lifted off before it is read (gateway/plates/glare.py)
        self.lift_glare = lift_glare

    def preprocess(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Resize a BGR crop to the model input (RGB, float 0..255) with a batch axis; a hard
        shadow across it evened out when ``even_shadows``, else a glare lifted off when
        ``lift_glare``."""
        import cv2

        w = crop_bgr.shape[1]
        interp = cv2.INTER_AREA if w > self.input_width else cv2.INTER_LINEAR
        x = cv2.resize(crop_bgr, (self.input_width, self.input_height), interpolation=interp)
        x = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)
        if self.even_shadows or self.lift_glare:
            columns = sorted_columns(x)  # both checks read their levels off one sort
            evened = even_out(x, columns) if self.even_shadows else None
            if evened is None and self.lift_glare:
                evened = lift_glare(x, columns)
            if evened is not None:
                return evened[None]
        return x[None].astype(np.float32)

    def probabilities(self, crop_bgr: np.ndarray) -> np.ndarray:
        """The ``(T, C)`` per-frame class probabilities for one crop."""
        logits = self.model.run(self.preprocess(crop_bgr))[0][0]
        return softmax(logits)

    def read(self, crop_bgr: np.ndarray) -> PlateRead:
        """Read one crop. Invalid input (empty, non-3-channel, under 4x4 px) reads as empty text."""
        if not _usable(crop_bgr):
            return PlateRead("", ())
        x = self.preprocess(crop_bgr)
        read = ctc_decode(softmax(self.model.run(x)[0][0]), temperatures=self.temperatures,
                          province_prior=self.province_prior)
        return read if self.province is None else self.province.refine(read, x)


def calibration_path(model_path: str | Path) -> Path:
    """Where a model's confidence calibration lies: ``<model>.calibration.json`` beside it."""
    p = Path(model_path)
    return p.with_name(p.stem + ".calibration.json")


def load_calibration(model_path: str | Path) -> tuple[float, float]:
    """(first character, other characters) temperatures fitted for this model; (1, 1) without a file.

    Written by ``models/plates/calibrate.py`` on held-out crops: a temperature above 1 softens
    an over-confident model so that a character's confidence means what it says."""
    path = calibration_path(model_path)
    if not path.is_file():
        return (1.0, 1.0)
    data = json.loads(path.read_text(encoding="utf-8"))
    return (float(data["temperature_first"]), float(data["temperature_other"]))


def load_province_prior(model_path: str | Path) -> np.ndarray | None:
    """The model's learnt log-prior of each province (``PROVINCES`` order, mean zero), or None.

    Why: the recognizer was trained mostly on 皖 plates (CCPD) and leans towards them on any
    unsure glyph. ``models/plates/calibrate.py`` fits one bias per province on synthetic plates
    whose provinces are uniform, so that dividing it out reads the province from the glyph, not
    from the training set's majority."""
    path = calibration_path(model_path)
    if not path.is_file():
        return None
    prior = json.loads(path.read_text(encoding="utf-8")).get("province_log_prior")
    if prior is None:
        return None
    values = np.array([float(prior[ch]) for ch in PROVINCES])
    return values - values.mean()


def _usable(img: np.ndarray | None) -> bool:
    return (
        isinstance(img, np.ndarray)
        and img.ndim == 3
        and img.shape[2] == 3
        and img.shape[0] >= 4
        and img.shape[1] >= 4
        and img.dtype == np.uint8
    )
