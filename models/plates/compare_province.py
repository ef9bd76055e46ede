"""Compare province readers on the development chain crops, each fused into the recognizer.

Usage (the runtime venv; the chain cache of development seed 43 is made on first use)::

    .venv/bin/python -m models.plates.compare_province models/plates/province_int8.tflite \\
        CANDIDATE.tflite [A.tflite+B.tflite ...]

A ``+`` joins readers into one whose province distribution is the normalised geometric mean of
theirs (an ensemble, for comparison only: the runtime loads one reader). Every reader is fused
into the committed recognizer as the runtime fuses it (:meth:`ProvinceReader.refine`, with the
temperature file beside the first model of each entry).

Per reader, over the crops whose label begins with a province: the reader alone right (argmax),
the fused first character right, the whole text right, and the fused reads whose province is
at least ``--sure`` but wrong (and how many of those are 皖). Development data only (seed 43 of
:mod:`models.plates.chain_crops`, training-side plates): choose with this, then validate once.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from gateway.plates.charset import PROVINCES
from gateway.plates.config import RecognizerConfig
from gateway.plates.province import ProvinceReader
from gateway.plates.recognizer import DEFAULT_RECOGNIZER, PlateRecognizer

#: the development chain cache the province reader's training also monitors
DEV_SEED, DEV_N = 43, 1500


@dataclass
class ProvinceComparison:
    """One reader's figures on the crops whose label begins with a province."""

    reader: str
    n: int
    alone: int
    fused_province: int
    full_text: int
    sure_wrong: int
    sure_wrong_wan: int


class JoinedProvinceReader(ProvinceReader):
    """Several province readers as one: the normalised geometric mean of their distributions
    (comparison only; the temperature file is the first model's)."""

    def __init__(self, paths: Sequence[str], weight: float) -> None:
        super().__init__(paths[0], 1, weight)
        self.others = [ProvinceReader(p, 1, weight) for p in paths[1:]]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        singles = [super().probabilities(x), *(o.probabilities(x) for o in self.others)]
        logp = np.mean([np.log(p + 1e-9) for p in singles], axis=0)
        e = np.exp(logp - logp.max())
        return e / e.sum()


def joined_reader(spec: str, weight: float) -> ProvinceReader:
    """The reader named by ``spec``: one model path, or several joined by ``+`` (geometric mean);
    ``weight``: its exponent in the product (``plates.recognizer.province_weight``)."""
    paths = spec.split("+")
    return ProvinceReader(paths[0], 1, weight) if len(paths) == 1 else JoinedProvinceReader(paths, weight)


def compare(specs: Sequence[str], images_bgr: Sequence[np.ndarray], texts: Sequence[str],
            sure: float = 0.6, weight: float | None = None) -> list[ProvinceComparison]:
    """Every reader of ``specs`` over the same crops (BGR), labels ``texts``; ``weight``: the
    province weight (None: the configuration's default)."""
    if weight is None:
        weight = RecognizerConfig().province_weight
    keep = [i for i, t in enumerate(texts) if t and t[0] in PROVINCES]
    out = []
    for spec in specs:
        province = joined_reader(spec, weight)
        recognizer = PlateRecognizer(DEFAULT_RECOGNIZER, 1, province)
        row = ProvinceComparison(spec, len(keep), 0, 0, 0, 0, 0)
        for i in keep:
            crop, text = images_bgr[i], texts[i]
            read = recognizer.read(crop)
            alone = province.probabilities(recognizer.preprocess(crop))
            row.alone += PROVINCES[int(np.argmax(alone))] == text[0]
            right = bool(read.text) and read.text[0] == text[0]
            row.fused_province += right
            row.full_text += read.text == text
            if read.text and read.char_conf and read.char_conf[0] >= sure and not right:
                row.sure_wrong += 1
                row.sure_wrong_wan += read.text[0] == "皖"
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    import cv2

    from models.plates.chain_crops import chain_cache
    from models.plates.train_province import _codes_to_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("readers", nargs="+", help="province reader .tflite, or several joined by '+'")
    ap.add_argument("--sure", type=float, default=0.6, help="a fused province at least this is 'sure'")
    ap.add_argument("--weight", type=float, default=None,
                    help="plates.recognizer.province_weight (default: the config's)")
    args = ap.parse_args(argv)
    x, y, n = chain_cache(DEV_N, DEV_SEED)
    crops = [cv2.cvtColor(img, cv2.COLOR_RGB2BGR) for img in x]
    for row in compare(args.readers, crops, _codes_to_text(y, n), args.sure, args.weight):
        print(json.dumps(asdict(row), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
