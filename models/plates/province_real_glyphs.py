"""The province reader alone on real training-side crops: their real glyphs, and repainted.

Usage (the runtime venv)::

    .venv/bin/python -m models.plates.province_real_glyphs READER.tflite [READER.tflite ...]

Why: the synthetic province sets judge every province on rendered glyphs, but most provinces
have no real crop at all. Paired with ``train_province --repaint-always P`` (a reader that never
sees province P's real glyph), this measures how a reader takes a real glyph it only knows
synthetic: the case of every province without real data. Per province of the real crops: right
and what the wrong answers were; then the same crops with the province repainted (seed 909).
Training-side crops only (a diagnostic, never a validation figure).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import cv2

    from gateway.plates.charset import PROVINCES
    from gateway.plates.province import ProvinceReader
    from gateway.plates.recognizer import PlateRecognizer
    from models.plates.synth import PlateRenderer, swap_province
    from models.plates.train_recognizer import real_training_crops

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("readers", nargs="+")
    args = ap.parse_args(argv)
    tr_i, tr_t, ca_i, ca_t = real_training_crops()
    imgs, texts = tr_i + ca_i, tr_t + ca_t
    rec, renderer, rng = PlateRecognizer(), PlateRenderer(), np.random.default_rng(909)
    repainted = [(s, t) for im, t0 in zip(imgs, texts, strict=True)
                 for s, t in [swap_province(im, t0, rng, renderer)] if s is not im]

    def prep(rgb: np.ndarray) -> np.ndarray:
        return rec.preprocess(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    real_x = [(prep(i), t) for i, t in zip(imgs, texts, strict=True) if t[:1] in PROVINCES]
    rep_x = [(prep(i), t) for i, t in repainted]
    for path in args.readers:
        reader = ProvinceReader(path)
        print(path)
        per: dict[str, list] = defaultdict(lambda: [0, 0, Counter()])
        for x, t in real_x:
            got = PROVINCES[int(reader.probabilities(x).argmax())]
            row = per[t[0]]
            row[0] += 1
            row[1] += got == t[0]
            if got != t[0]:
                row[2][got] += 1
        for p, (n, ok, wrong) in sorted(per.items(), key=lambda kv: -kv[1][0]):
            print(f"  real {p}: {ok}/{n}  wrong as {dict(wrong.most_common(5))}")
        answers = [(PROVINCES[int(reader.probabilities(x).argmax())], t[0]) for x, t in rep_x]
        ok = sum(got == want for got, want in answers)
        wrong = Counter(got for got, want in answers if got != want)
        print(f"  repainted: {ok}/{len(rep_x)}  wrong as {dict(wrong.most_common(6))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
