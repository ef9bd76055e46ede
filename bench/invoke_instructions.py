"""Instructions per invoke of TFLite models under valgrind, on the kernels an AVX2-only CPU runs.

    .venv/bin/python bench/invoke_instructions.py [MODEL.tflite ...]

(default: the shipped recognizer and province reader). Why: the issue's recognizer limit (1 ms a
read) is missed on AVX2-only hosts, and none may be at hand when a smaller model is weighed.
valgrind's virtual CPU has AVX2 and no AVX-512, so XNNPACK takes the AVX2 kernels whatever this
host has (as in bench/frame_instructions.py). Instructions are not cycles: the ratio of two
models says how their invokes compare on such a host, not its milliseconds. Each model runs in
its own process under ``valgrind --tool=callgrind`` twice, 10 and 50 invokes after one warm-up on
a fixed random input through the runtime's own loader (gateway.inference.load_model); the
difference divided by 40 is one invoke's instructions (start-up and loading cancel out). About
a minute a model on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RUNS = (10, 50)


def run_model(path: str, invokes: int) -> None:
    """``invokes`` invokes of ``path`` after one warm-up (the child process)."""
    sys.path.insert(0, str(REPO))
    from gateway.inference import load_model

    model = load_model(path, 1)
    x = np.random.default_rng(0).integers(0, 256, tuple(model.input_shape)).astype(np.float32)
    model.run(x)
    for _ in range(invokes):
        model.run(x)


def count(path: str, invokes: int) -> int:
    """Instructions callgrind collected for one child run."""
    sys.path.insert(0, str(REPO))
    from bench.callgrind import instructions

    return instructions(__file__, ["--child", path, str(invokes)])


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        run_model(sys.argv[2], int(sys.argv[3]))
        return 0
    sys.path.insert(0, str(REPO))
    from gateway.plates.province import DEFAULT_PROVINCE_READER
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER

    paths = sys.argv[1:] or [str(DEFAULT_RECOGNIZER), str(DEFAULT_PROVINCE_READER)]
    print("| model | instructions per invoke |")
    print("|---|---|")
    for p in paths:
        few, many = (count(p, n) for n in RUNS)
        print(f"| {p} | {(many - few) / (RUNS[1] - RUNS[0]) / 1e6:.2f} M |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
