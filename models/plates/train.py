"""One command: train + export + evaluate both plate models (the recipe of the committed ones).

    python3 -m venv /work/venv-train
    /work/venv-train/bin/pip install tensorflow-cpu pillow numpy 'opencv-python-headless<5' 'pydantic>=2.6,<3'
    apt-get install -y fonts-noto-cjk fonts-wqy-zenhei fonts-dejavu-core fonts-dejavu-extra
    cd <repo> && nice -n 10 /work/venv-train/bin/python -m models.plates.train

Stages (one TensorFlow thread each; caches and checkpoints under $EDGEPOST_PLATES_WORK,
default /work/plates-work):

1. recognizer: 4000 steps from scratch on 50k synthetic (seed 7) + training-split crops;
2. recognizer fine-tune: 3000 steps, lr 8e-4, 40 % real crops, fresh 50k synthetic (seed 8)
   -> models/plates/recognizer_int8.tflite;
3. localiser: 3000 steps on 12k scenes (seed 11);
4. localiser fine-tune: 1500 steps, lr 1.5e-3, fresh 10k scenes (seed 12)
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
        train_recognizer.main(["--steps", "4000", "--seed", "7", "--tag", "recognizer",
                               "--out", str(WORK / "recognizer_stage1.tflite")])  # fmt: skip
        train_recognizer.main(["--init", str(WORK / "recognizer.weights.h5"), "--steps", "3000",
                               "--lr", "8e-4", "--real-frac", "0.4", "--seed", "8", "--tag", "recognizer_ft1",
                               "--out", str(MODELS_DIR / "recognizer_int8.tflite")])  # fmt: skip
    if "--recognizer-only" not in args:
        train_localiser.main(["--steps", "3000", "--seed", "11", "--tag", "localiser",
                              "--out", str(WORK / "localiser_stage1.tflite")])  # fmt: skip
        train_localiser.main(["--init", str(WORK / "localiser.weights.h5"), "--steps", "1500",
                              "--lr", "1.5e-3", "--scenes", "10000", "--seed", "12", "--tag", "localiser_ft1",
                              "--out", str(MODELS_DIR / "localiser_int8.tflite")])  # fmt: skip


if __name__ == "__main__":
    main()
