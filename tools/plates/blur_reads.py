"""How often the recognizer reads a plate it should not: real plates blurred past reading.

Each plate of the real toll-lane vehicles that the reader reads clearly
(``tests/plates/unread_scenes.py``) is shrunk to 1/N of its resolution and blown up again in
place, then read through ``read_vehicle``; the table counts reads, wrong reads and wrong reads
that start with 皖 per N. The model card's figures for the recognizer change come from it::

    PYTHONPATH=. .venv/bin/python tools/plates/blur_reads.py [--scenes 40] [--recognizer FILE]

(the recognizer replaced in session 3: ``git show 4d88102:models/plates/recognizer_int8.tflite``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.plates.config import PlatesConfig, RecognizerConfig
from gateway.plates.reader import PlateReader
from tests.plates import unread_scenes as us


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--recognizer", type=Path, default=None,
                    help="recognizer .tflite (default: the committed one)")
    args = ap.parse_args()
    reader = PlateReader(PlatesConfig(recognizer=RecognizerConfig(model_path=args.recognizer)))
    scenes = us.readable_scenes(reader, args.scenes, PlatesConfig().absent_min_vehicle_px)
    print("| shrunk to | scenes | reads | wrong | wrong, read as 皖 |\n|---|---|---|---|---|")
    for factor in (6, 8, 12):
        reads = wrong = wan = 0
        for s in scenes:
            got = reader.read_vehicle(s.shrunk(factor), s.box_px)
            if got:
                reads += 1
                if got[0].text != s.text:
                    wrong += 1
                    wan += got[0].text[0] == "皖" != s.text[0]
        print(f"| 1/{factor} | {len(scenes)} | {reads} | {wrong} | {wan} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
