"""Instructions per 1280x720 checkpoint frame under valgrind: the peer's detector against
``read_frame`` with and without the wide finder, on the code paths of an AVX2-only CPU.

    .venv/bin/python bench/frame_instructions.py

Why: valgrind's virtual CPU has AVX2 and no AVX-512, so XNNPACK and ONNX Runtime take the
kernels an AVX2-only host takes, whatever this host has. Instructions are not cycles; the
ratios say which way a change moves such a host, not its milliseconds (bench/RESULTS.md).
Each side runs in its own process under ``valgrind --tool=callgrind`` twice, over the 13 frames
of ``bench_plates.checkpoint_frames`` once and four times after one warm-up frame; the
difference divided by 3 x 13 is one frame's instructions (start-up and loading cancel out).
Needs valgrind (Debian) and the bench extra; about 10 minutes on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIDES = ("peer", "wide", "square")


def run_side(side: str, passes: int) -> None:
    """One side, ``passes`` times over the checkpoint frames (the child process)."""
    sys.path.insert(0, str(REPO))
    from bench.bench_plates import Y5fuPeer, checkpoint_frames

    frames = checkpoint_frames()
    if side == "peer":
        fn = Y5fuPeer().detect
    else:
        from gateway.plates.config import FinderConfig, PlatesConfig
        from gateway.plates.reader import PlateReader

        fc = FinderConfig(enabled=True) if side == "wide" else FinderConfig(enabled=True, wide_model_paths=[])
        fn = PlateReader(PlatesConfig(finder=fc)).read_frame
    fn(frames[0])
    for _ in range(passes):
        for f in frames:
            fn(f)


def count(side: str, passes: int, out: Path) -> int:
    """Instructions callgrind collected for one child run."""
    sys.path.insert(0, str(REPO))
    from bench.callgrind import instructions

    return instructions(__file__, ["--child", side, str(passes)], str(out))


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        run_side(sys.argv[2], int(sys.argv[3]))
        return 0
    per_frame = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side in SIDES:
            one, four = (count(side, p, Path(tmp) / f"{side}.{p}") for p in (1, 4))
            per_frame[side] = (four - one) / (3 * 13)
    print("| side | instructions per frame | ratio to the peer |")
    print("|---|---|---|")
    for side in SIDES:
        print(f"| {side} | {per_frame[side] / 1e6:.1f} M | {per_frame[side] / per_frame['peer']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
