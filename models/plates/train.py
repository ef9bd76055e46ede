"""One command: train + export + evaluate both plate models (the recipe of the committed ones).

    python3 -m venv /work/venv-train
    /work/venv-train/bin/pip install -e '.[train]' 'ai-edge-litert>=1.0,<3'
    # (TensorFlow 2.21 has no tf.lite.Interpreter: the evaluation and calibration at the end of
    # each recognizer stage load the exported model through ai-edge-litert, like the gateway)
    apt-get install -y fonts-noto-cjk fonts-wqy-zenhei fonts-dejavu-core fonts-dejavu-extra
    cd <repo> && nice -n 10 /work/venv-train/bin/python -m models.plates.train

Stages (one TensorFlow thread each; caches and checkpoints under $EDGEPOST_PLATES_WORK,
default /work/plates-work):

1. recognizer (issue 11 recipe, 2026-11-30): 5000 steps from scratch on 40k synthetic + 6k
   two-row (seed 21), 12 % negatives (foreign plates, text panels, empty panels, texture,
   empty target), 35 % real training crops (province-balanced ``count ** -0.5``, half of them
   with the province glyph repainted), the architecture without the global-context branch;
2. recognizer fine-tune: 2000 steps, lr 6e-4, 45 % real crops, fresh data (seed 22);
3. recognizer fine-tune with the global-context branch added (zero-initialised): 3000 steps,
   lr 1e-3, 40 % real crops, fresh data (seed 23) -> models/plates/recognizer_int8.tflite
   (+ its calibration JSON);
4. localiser: 3000 steps on 12k scenes (seed 11);
5. localiser fine-tune: 1500 steps, lr 1.5e-3, fresh 10k scenes (seed 12)
   -> models/plates/localiser_int8.tflite.

``--recognizer-only`` / ``--localiser-only`` run half of it.
"""

from __future__ import annotations

import sys

from models.plates import train_localiser, train_recognizer
from models.plates.common import MODELS_DIR, WORK


def main() -> None:
    args = sys.argv[1:]
    if "--localiser-only" not in args:
        common = ["--synth", "40000", "--double", "6000", "--negatives", "10000", "--neg-frac", "0.12",
                  "--swap", "0.5", "--balance", "0.5"]  # fmt: skip
        train_recognizer.main([*common, "--steps", "5000", "--real-frac", "0.35", "--seed", "21",
                               "--no-global-context", "--tag", "rec_s1",
                               "--out", str(WORK / "rec_s1.tflite")])  # fmt: skip
        train_recognizer.main([*common, "--init", str(WORK / "rec_s1.weights.h5"), "--steps", "2000",
                               "--lr", "6e-4", "--real-frac", "0.45", "--seed", "22", "--no-global-context",
                               "--tag", "rec_s2", "--out", str(WORK / "rec_s2.tflite")])  # fmt: skip
        train_recognizer.main([*common, "--init", str(WORK / "rec_s2.weights.h5"), "--steps", "3000",
                               "--lr", "1e-3", "--real-frac", "0.4", "--seed", "23", "--tag", "rec_s3",
                               "--out", str(MODELS_DIR / "recognizer_int8.tflite")])  # fmt: skip
    if "--recognizer-only" not in args:
        train_localiser.main(["--steps", "3000", "--seed", "11", "--tag", "localiser",
                              "--out", str(WORK / "localiser_stage1.tflite")])  # fmt: skip
        train_localiser.main(["--init", str(WORK / "localiser.weights.h5"), "--steps", "1500",
                              "--lr", "1.5e-3", "--scenes", "10000", "--seed", "12", "--tag", "localiser_ft1",
                              "--out", str(MODELS_DIR / "localiser_int8.tflite")])  # fmt: skip


if __name__ == "__main__":
    main()
