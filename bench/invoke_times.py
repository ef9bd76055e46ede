"""Milliseconds per invoke of TFLite models on this host, interleaved.

    .venv/bin/python bench/invoke_times.py [--threads N] [--repeats R] [MODEL.tflite ...]

(default: the shipped recognizer and province reader). Why: a model's invoke time depends on
the CPU's kernels far more than its arithmetic says (the recognizer's int8 invoke is about
seven times slower on an AVX2-only AMD EPYC than on an AVX-512 one with VNNI), so a candidate
model, or the same weights stored another way (e.g. the float twin of an int8 file,
``tools/plates/float_twin.py``), is weighed by timing them side by side on the host at hand.
Each model loads through the runtime's own loader (gateway.inference.load_model) and runs on
a fixed random input; every repeat times 200 invokes of each model in turn, so host load
falls on all sides alike. Reports median, min and max over the repeats (ms per invoke) and the
CPU. Bench bench_plates.py gives the chain's figures; this one answers "which file is faster
here".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
INVOKES = 200
WARM_UP = 50


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*",
                    help="TFLite files (default: the shipped recognizer and province reader)")
    ap.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1, as shipped)")
    ap.add_argument("--repeats", type=int, default=7, help=f"timed repeats of {INVOKES} invokes per model")
    args = ap.parse_args(argv)
    if args.repeats < 3:
        ap.error("--repeats: at least 3 (medians of three or more)")
    sys.path.insert(0, str(REPO))
    from bench.machine import cpu_name
    from gateway.inference import load_model, quantize
    from gateway.plates.province import DEFAULT_PROVINCE_READER
    from gateway.plates.recognizer import DEFAULT_RECOGNIZER

    paths = args.models or [str(DEFAULT_RECOGNIZER), str(DEFAULT_PROVINCE_READER)]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        print(f"invoke_times: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    models, inputs = [], []
    for p in paths:
        m = load_model(p, args.threads)
        x = rng.integers(0, 256, m.input_shape).astype(np.float32)
        inputs.append(quantize(x, m.input))
        models.append(m)
        for _ in range(WARM_UP):
            m.invoke(inputs[-1])
    ms: list[list[float]] = [[] for _ in paths]
    for _ in range(args.repeats):
        for k, (m, x) in enumerate(zip(models, inputs, strict=True)):
            t = time.perf_counter()
            for _ in range(INVOKES):
                m.invoke(x)
            ms[k].append((time.perf_counter() - t) / INVOKES * 1000)
    print(f"- machine: {cpu_name()}; runtime {models[0].runtime}, {args.threads} thread(s), "
          f"{args.repeats} repeats of {INVOKES} invokes, interleaved")
    print()
    print("| model | input | ms per invoke, median (min-max) |")
    print("|---|---|---|")
    for p, m, v in zip(paths, models, ms, strict=True):
        dtype = np.dtype(m.input["dtype"]).name
        print(f"| {p} | {dtype} {'x'.join(map(str, m.input_shape))} | "
              f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
