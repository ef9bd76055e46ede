"""`plates read` on the real toll-lane photos while the other cores are busy: the plate-axis
scale matrix of the warp vote inverted by numpy.linalg (until session 35) against OpenCV (now).

    .venv/bin/python bench/bench_busy_cores.py [--repeats 3]

Why: numpy hands even a 2x2 inverse to a threaded OpenBLAS, which wakes a worker thread for it;
when every other core is busy (a gateway's camera and uplink, another process) that wake waits
for the scheduler. Each repeat runs ``edgepost plates read --json`` (the command itself, in this
process) over every photo of ``../shared/plates/real_scenes_hyperlpr`` once with each side,
interleaved, while one busy-looping process per other core runs at a lower priority. Reported
per side: median (min-max over the repeats) of the median ms per photo, and of the total ms
spent in the scale matrix.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402

PHOTOS = REPO.parent / "shared" / "plates" / "real_scenes_hyperlpr"


def numpy_scale_matrix(u: np.ndarray, v: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """The scale matrix as computed until session 35 (numpy.linalg)."""
    basis = np.stack([u, v])
    if abs(np.linalg.det(basis)) < 1e-9:
        return np.eye(2)
    return np.linalg.inv(basis) @ np.diag([sx, sy]) @ basis


def _spin() -> None:
    os.nice(5)
    while True:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import contextlib
    import io
    import json

    from gateway.cli.main import main as edgepost
    from gateway.plates import warp_vote

    shipped = warp_vote._scale_matrix
    sides = {"numpy.linalg": numpy_scale_matrix, "OpenCV (shipped)": shipped}
    spent = [0.0]

    def timed(fn):
        def call(*a):
            t = time.perf_counter()
            out = fn(*a)
            spent[0] += time.perf_counter() - t
            return out
        return call

    def plates_read() -> list[dict]:
        """``edgepost plates read --json PHOTOS`` in this process: its JSON lines."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            edgepost(["plates", "read", "--json", str(PHOTOS)])
        return [json.loads(line) for line in out.getvalue().splitlines()]

    plates_read()  # warm-up: imports and model loads are not what is compared
    spinners = [mp.Process(target=_spin, daemon=True) for _ in range((os.cpu_count() or 2) - 1)]
    for s in spinners:
        s.start()
    rows: dict[str, list[tuple[float, float, int]]] = {name: [] for name in sides}
    try:
        for _ in range(args.repeats):
            for name, fn in sides.items():
                warp_vote._scale_matrix = timed(fn)
                spent[0] = 0.0
                lines = plates_read()
                images = [o for o in lines if "summary" not in o]
                per = [o["ms"] for o in images]
                reads = sum(len(o["plates"]) for o in images)
                rows[name].append((statistics.median(per), spent[0] * 1e3, reads))
    finally:
        warp_vote._scale_matrix = shipped
        for s in spinners:
            s.terminate()
    photos = len(per)

    def mmm(xs: list[float]) -> str:
        return f"{statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, {len(spinners)} busy; "
          f"{photos} photos, {args.repeats} repeats interleaved")
    print("| side | median ms per photo | ms in the scale matrix, all photos | plates read |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {mmm([x[0] for x in r])} | {mmm([x[1] for x in r])} | "
              f"{sorted({x[2] for x in r})} |")


if __name__ == "__main__":
    main()
