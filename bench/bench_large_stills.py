"""`edgepost plates read` on large photos: the grey-framed and turned searches on a copy of at most
1280 px (now) against the photo at full size (until session 36), time and peak memory.

    .venv/bin/python bench/bench_large_stills.py [--repeats 3]

Why: when nothing is read, ``plates read`` searches a still again framed in grey (a canvas six
times the photo) and turned 30 degrees either way. On a 38 MP photo that took a 690 MB canvas and
1.3 GB peak, more than a 1 GB Raspberry Pi has (``gateway/plates/framed.py``). Each repeat runs the
real command in a child process (``python -c`` calling the CLI's ``main``; the "full size" side
first sets ``gateway.plates.rotated.SEARCH_LONG_SIDE`` above any photo) once per photo and side,
interleaved, and takes the child's wall time and its peak RSS (``ru_maxrss`` from ``wait4``).

Photos, written to a temporary folder: ``../shared/media/images/paddledet_car.jpg`` as it is
(4317x2775, 12 MP; its car's plate is not a mainland one, so every search runs) and enlarged to
7700x4950 (38 MP; the decoder's limit is 40 MP); and the first validation plate crop of
``../shared/plates/dev_crops`` that, enlarged to 4000 px wide, the searches before the grey frame
do not read (a plate that fills the picture: the framed search is what reads it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402

SHARED = REPO.parent / "shared"
SIDES = {"copy of at most 1280 px (now)": None, "full size (before)": 10**9}

CHILD = """
import sys
import gateway.plates.rotated as rotated
if {long_side!r} is not None:
    rotated.SEARCH_LONG_SIDE = {long_side!r}
from gateway.cli.main import main
sys.exit(main(["plates", "read", "--json", {path!r}]))
"""


def photos(folder: Path) -> dict[str, Path]:
    """The bench photos, written into ``folder``."""
    import cv2

    from models.plates import split as dsplit

    car = SHARED / "media" / "images" / "paddledet_car.jpg"
    big = folder / "car_38mp.jpg"
    cv2.imwrite(str(big), cv2.resize(cv2.imread(str(car)), (7700, 4950), interpolation=cv2.INTER_LINEAR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    from gateway.cli.plates_cmd import FINER_FRAME_SIZES
    from gateway.plates.imagefile import finer_readers, read_image_info, read_still
    from gateway.plates.reader import PlateReader

    reader = PlateReader()
    finer = finer_readers(reader.config)
    plate = folder / "plate_fills_4000px.jpg"
    for fname, _ in dsplit.split()[1]:
        crop = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / fname)
        h = round(4000 * crop.shape[0] / crop.shape[1])
        cv2.imwrite(str(plate), cv2.resize(crop, (4000, h), interpolation=cv2.INTER_CUBIC),
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        image = read_image_info(plate).image
        if not read_still(reader, image, finer=finer, finer_sizes=FINER_FRAME_SIZES)[0]:
            break
    return {"12 MP car photo (no mainland plate)": car, "38 MP car photo (no mainland plate)": big,
            "plate filling a 4000 px picture": plate}


def run_child(path: Path, long_side: int | None) -> tuple[float, float, list[str]]:
    """(wall s, peak RSS MB, plate texts) of one ``plates read`` in a child process."""
    code = CHILD.format(long_side=long_side, path=str(path))
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    out = p.stdout.read() if p.stdout else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"plates read failed on {path}: exit status {status}")
    first = json.loads(out.decode().splitlines()[0])
    return wall, usage.ru_maxrss / 1024, [pl["text"] for pl in first["plates"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = photos(Path(tmp))
        res: dict[tuple[str, str], list[tuple[float, float, list[str]]]] = {}
        for _ in range(args.repeats):
            for name, path in jobs.items():
                for side, long_side in SIDES.items():
                    res.setdefault((name, side), []).append(run_child(path, long_side))

    def mmm(xs: list[float], fmt: str) -> str:
        return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"

    print(f"# `plates read` on large photos ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu_name()}, "
          f"{os.cpu_count()} logical cores, {args.repeats} repeats, sides interleaved)\n")
    print("| photo | framed and turned searches on | wall s, median (min-max) "
          "| peak RSS MB, median (min-max) | read |")
    print("|---|---|---|---|---|")
    for (name, side), runs in res.items():
        texts = {", ".join(r[2]) or "nothing" for r in runs}
        print(f"| {name} | {side} | {mmm([r[0] for r in runs], '{:.2f}')} | "
              f"{mmm([r[1] for r in runs], '{:.0f}')} | {' / '.join(sorted(texts))} |")


if __name__ == "__main__":
    main()
