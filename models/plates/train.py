"""One command: train + export + evaluate both plate models.

    /work/venv-train/bin/pip install -e '.[train]' 'opencv-python-headless<5'
    apt-get install -y fonts-noto-cjk fonts-wqy-zenhei fonts-dejavu-core fonts-dejavu-extra
    nice -n 10 /work/venv-train/bin/python -m models.plates.train

Runs the recognizer (models/plates/train_recognizer.py) and then the localiser
(models/plates/train_localiser.py) with their defaults, one TensorFlow thread each, caches
under $EDGEPOST_PLATES_WORK (default /work/plates-work), and overwrites
models/plates/recognizer_int8.tflite and models/plates/localiser_int8.tflite.
"""

from __future__ import annotations

import sys

from models.plates import train_localiser, train_recognizer


def main() -> None:
    args = sys.argv[1:]
    if "--localiser-only" not in args:
        train_recognizer.main([])
    if "--recognizer-only" not in args:
        train_localiser.main([])


if __name__ == "__main__":
    main()
