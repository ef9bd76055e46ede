"""Temperature calibration of the recognizer's per-character confidence (no TensorFlow needed).

    python -m models.plates.calibrate [MODEL]     # refit on the held-out calibration plates
    python -m models.plates.calibrate --fused     # the province reader's product temperature

Why: a CTC model trained to convergence is over-confident; the old recognizer gave 0.99 to
wrong provinces, so ``min_char_confidence`` did not mean what it says. Two temperatures
are fitted by minimum negative log-likelihood of the true character at its peak frame:
one for the first character (the province, the hardest and most biased) and one for the
others. The data are plates that were held out of training and are not validation plates:
the calibration sixth of the training side of both real sources
(:func:`models.plates.train_recognizer.is_calibration`) plus fresh synthetic plates with
uniform provinces (so provinces without real crops count too). Only reads whose length
matches the label are used (the peak frames then align with the characters).

The province prior: the recognizer learnt from mostly 皖 plates (CCPD) and leans to 皖 on an
unsure glyph. One log-bias per province is fitted (:func:`fit_province_prior`) on 3,100 more
synthetic plates with uniform provinces; the decoder divides it out of the first character,
so the province is read from the glyph and not from the training set's majority.

The result goes to ``<model>.calibration.json`` beside the model, which
:class:`gateway.plates.recognizer.PlateRecognizer` reads.

The fused province (``--fused``): the recognizer's province times the province reader's
(:func:`gateway.plates.province.fuse`) is over-confident, the two experts seeing the same glyph.
Its temperature is chosen on the *development* scenes through the whole chain (province scenes
seed 131, 80 per province; plate kinds seed 137, 50 per kind; never the validation seeds): the
grid value whose accepted reads' confidence best matches their exactness (expected calibration
error over the scene report's confidence bins). Written to ``province_int8.calibration.json``.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

#: temperatures tried (a grid is enough for two scalars and is exactly reproducible)
GRID = np.round(np.arange(0.5, 6.01, 0.05), 2)
#: synthetic calibration plates (uniform provinces); their seed is used by no training run
N_SYNTH, SYNTH_SEED = 1500, 424242
#: synthetic plates for the province prior (uniform provinces, ~100 each; a seed no training or
#: validation run uses)
N_PRIOR, PRIOR_SEED = 3100, 525252
#: L2 weight on the province biases: a province whose plates the model already reads right
#: keeps a bias near zero instead of one fitted to a few samples
PRIOR_L2 = 0.001


def collect(recognizer, crops: list[np.ndarray], texts: list[str]) -> tuple[list, list]:
    """``(log-prob vector at the peak frame, true class)`` pairs for first and other characters."""
    from gateway.plates.charset import encode
    from gateway.plates.recognizer import peak_frames

    first: list[tuple[np.ndarray, int]] = []
    other: list[tuple[np.ndarray, int]] = []
    for crop, text in zip(crops, texts, strict=True):
        probs = recognizer.probabilities(crop)
        path = peak_frames(probs)
        if len(path) != len(text):
            continue
        for pos, ((_, peak), true) in enumerate(zip(path, encode(text), strict=True)):
            (first if pos == 0 else other).append((np.log(np.maximum(probs[peak], 1e-12)), int(true)))
    return first, other


def fit(pairs: list[tuple[np.ndarray, int]]) -> tuple[float, float, float]:
    """Best temperature on the grid with the NLL at T=1 and at the best T."""
    if not pairs:
        return 1.0, 0.0, 0.0
    lp = np.stack([p for p, _ in pairs])
    y = np.array([t for _, t in pairs])

    def nll(t: float) -> float:
        z = lp / t
        z = z - z.max(axis=1, keepdims=True)
        logz = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(logz - z[np.arange(len(y)), y]))

    losses = [nll(float(t)) for t in GRID]
    best = int(np.argmin(losses))
    return float(GRID[best]), nll(1.0), losses[best]


def _province_logits(
    pairs: list[tuple[np.ndarray, int]], temperature: float
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose true class is a province: their province log-probabilities divided by
    ``temperature`` (``(n, 31)``, ``PROVINCES`` order) and the true province's column."""
    from gateway.plates.charset import CHAR_TO_INDEX, PROVINCES

    index = np.array([CHAR_TO_INDEX[ch] for ch in PROVINCES])
    column = {int(c): j for j, c in enumerate(index)}
    rows = [(lp, column[t]) for lp, t in pairs if t in column]
    if not rows:
        return np.zeros((0, len(PROVINCES))), np.zeros(0, int)
    return np.stack([lp[index] for lp, _ in rows]) / temperature, np.array([j for _, j in rows])


def fit_province_prior(
    pairs: list[tuple[np.ndarray, int]], temperature: float, steps: int = 3000, rate: float = 2.0
) -> np.ndarray:
    """One log-bias per province (``PROVINCES`` order, mean zero) that, subtracted from the
    first character's tempered province log-probabilities, best explains ``pairs`` (true class a
    province, provinces uniform): the learnt prior that
    :func:`gateway.plates.recognizer.ctc_decode` divides out. Convex (a multinomial logistic
    model with only offsets free), so plain gradient descent finds it."""
    from gateway.plates.charset import PROVINCES

    z, y = _province_logits(pairs, temperature)
    if not len(y):
        return np.zeros(len(PROVINCES))
    onehot = np.eye(len(PROVINCES))[y]
    b = np.zeros(len(PROVINCES))
    for _ in range(steps):
        logits = z - b
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (onehot - p).mean(axis=0) + 2 * PRIOR_L2 * b
        b -= rate * grad
        b -= b.mean()
    return b


def province_nll(pairs: list[tuple[np.ndarray, int]], temperature: float, bias: np.ndarray) -> float:
    """Mean NLL of the true province among the provinces, with ``bias`` divided out."""
    z, y = _province_logits(pairs, temperature)
    z = z - bias
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def synthetic_crops(n: int = N_SYNTH, seed: int = SYNTH_SEED) -> tuple[list[np.ndarray], list[str]]:
    """Fresh synthetic plates (BGR, recognizer size) of single-row kinds, provinces uniform."""
    import cv2

    from models.plates.common import background_pool
    from models.plates.synth import PlateRenderer, plate_crop

    rng = np.random.default_rng(seed)
    pool = background_pool()
    r = PlateRenderer()
    crops, texts = [], []
    for _ in range(n):
        p = r.random_plate(rng)
        crops.append(cv2.cvtColor(plate_crop(p, rng, pool, (96, 32)), cv2.COLOR_RGB2BGR))
        texts.append(p.text)
    return crops, texts


def calibrate(model_path: Path, crops: list[np.ndarray], texts: list[str], synth: bool = True) -> dict:
    """Fit and write the two temperatures of ``model_path``; returns what was written."""
    from gateway.plates.recognizer import PlateRecognizer, calibration_path

    rec = PlateRecognizer(model_path)
    first, other = collect(rec, crops, texts)
    n_real = (len(first), len(other))
    if synth:
        sc, st = synthetic_crops()
        f2, o2 = collect(rec, sc, st)
        first += f2
        other += o2
    t_first, nll1_first, nll_first = fit(first)
    t_other, nll1_other, nll_other = fit(other)
    from gateway.plates.charset import PROVINCES

    pc, pt = synthetic_crops(N_PRIOR, PRIOR_SEED)
    prior_pairs, _ = collect(rec, pc, pt)
    bias = fit_province_prior(prior_pairs, t_first)
    out = {
        "temperature_first": t_first,
        "temperature_other": t_other,
        "province_log_prior": {ch: round(float(v), 4) for ch, v in zip(PROVINCES, bias, strict=True)},
        "fitted_on": {
            "real_first_chars": n_real[0],
            "real_other_chars": n_real[1],
            "synthetic_plates": N_SYNTH if synth else 0,
            "first_chars": len(first),
            "other_chars": len(other),
        },
        "nll_first": {"t1": round(nll1_first, 4), "fitted": round(nll_first, 4)},
        "nll_other": {"t1": round(nll1_other, 4), "fitted": round(nll_other, 4)},
        "province_prior_fitted_on": {"synthetic_plates": N_PRIOR, "first_chars": len(prior_pairs)},
        "nll_province": {
            "with_prior": round(province_nll(prior_pairs, t_first, np.zeros(len(PROVINCES))), 4),
            "prior_divided_out": round(province_nll(prior_pairs, t_first, bias), 4),
        },
    }
    calibration_path(model_path).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))
    return out


#: temperatures of the fused province tried on the development scenes
FUSED_GRID = (1.0, 1.3, 1.6, 2.0)
#: how much less calibration error another temperature must show to replace the one in use: on
#: ~2800 accepted reads the errors of the grid's values differ by less than their sampling noise,
#: and a new temperature moves the operating point (exact against wrong reads), which the
#: adoption rule judges, not a noise-level difference (session 26: 1.0 had 0.0013 less error
#: than 1.6 and read 17 more wrong provinces on the development province scenes)
FUSED_ECE_MARGIN = 0.002


def calibrate_fused(grid: tuple[float, ...] = FUSED_GRID) -> dict:
    """Choose the fused province's temperature on the development scenes (module doc) and write
    it beside the province reader; returns what was written."""
    from gateway.plates.config import PlatesConfig
    from gateway.plates.province import DEFAULT_PROVINCE_READER, load_temperature
    from gateway.plates.reader import PlateReader
    from gateway.plates.recognizer import calibration_path
    from models.plates.evaluate_scenes import READ_BINS, kind_samples, province_samples

    readers = {}
    for t in grid:
        reader = PlateReader(PlatesConfig())
        reader.recognizer.province.temperature = t
        readers[t] = reader
    counts = {t: {"exact": 0, "wrong": 0, "none": 0} for t in grid}
    accepted: dict[float, list[tuple[float, bool]]] = {t: [] for t in grid}
    n = 0
    for sample in (*province_samples(80, seed=131), *kind_samples(50, seed=137)):
        n += 1
        for t, reader in readers.items():  # interleaved: every sample through every value
            reads = reader.read_frame(sample.image)
            got = reads[0].text if reads else ""
            counts[t]["exact" if got == sample.text else "wrong" if got else "none"] += 1
            if got:
                accepted[t].append((reads[0].confidence, got == sample.text))
    table = {}
    for t in grid:
        bins, ece = {}, 0.0
        for lo, hi in itertools.pairwise(READ_BINS):
            sel = [(c, ok) for c, ok in accepted[t] if lo <= c < hi]
            if sel:
                exact, conf = float(np.mean([ok for _, ok in sel])), float(np.mean([c for c, _ in sel]))
                ece += abs(exact - conf) * len(sel)
                bins[f"{lo:.2f}-{min(hi, 1):.2f}"] = (
                    f"{sum(ok for _, ok in sel)}/{len(sel)} exact, mean conf {conf:.3f}")
        table[str(t)] = {**counts[t], "ece": round(ece / max(1, len(accepted[t])), 4), "bins": bins}
    best = min(grid, key=lambda t: table[str(t)]["ece"])
    current = load_temperature(DEFAULT_PROVINCE_READER)
    if str(current) in table and table[str(current)]["ece"] <= table[str(best)]["ece"] + FUSED_ECE_MARGIN:
        best = current  # within the margin: the temperature in use stays (FUSED_ECE_MARGIN)
    out = {
        "temperature_fused": best,
        "chosen_on": f"development scenes: {n} (province scenes seed 131 x80, kinds seed 137 x50), "
                     "minimum expected calibration error of the accepted reads; the temperature "
                     f"in use ({current}) is kept while within {FUSED_ECE_MARGIN} of the minimum",
        "grid": table,
    }
    calibration_path(DEFAULT_PROVINCE_READER).write_text(
        json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return out


def main(argv: list[str] | None = None) -> int:
    """Refit on the held-out calibration crops of both real sources (+ synthetic); ``--fused``:
    the fused province's temperature instead."""
    import cv2

    from gateway.plates.recognizer import DEFAULT_RECOGNIZER
    from models.plates.train_recognizer import real_training_crops

    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--fused"]:
        calibrate_fused()
        return 0
    model = Path(argv[0]) if argv else DEFAULT_RECOGNIZER
    _, _, calib_imgs, calib_texts = real_training_crops()
    calibrate(model, [cv2.cvtColor(i, cv2.COLOR_RGB2BGR) for i in calib_imgs], calib_texts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
