"""Multiply-adds of one invoke of a TFLite model, counted from its graph.

    .venv/bin/python tools/plates/count_macs.py MODEL.tflite [MODEL.tflite ...]

Why: on a CPU whose int8 kernels run near their peak (an AVX2-only x86 without VNNI reads the
recognizer at about 36 G multiply-adds a second, models/plates/MODEL_CARD.md) the time of an
invoke follows its multiply-adds, so a smaller model can be sized before it is trained and
timed. Counted: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, at the input shapes the file
declares; other ops (pooling, adds, activations) are left out as cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def count_macs(path: Path) -> dict[str, int]:
    """Multiply-adds per op kind of one invoke of ``path``."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    shapes = {d["index"]: tuple(d["shape"]) for d in it.get_tensor_details()}
    out: dict[str, int] = {}
    for op in it._get_ops_details():
        kind = op["op_name"]
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        weights = shapes[int(op["inputs"][1])]
        result = shapes[int(op["outputs"][0])]
        if kind == "CONV_2D":  # weights O, KH, KW, I: every output element sums KH x KW x I
            per = int(np.prod(weights[1:]))
        elif kind == "DEPTHWISE_CONV_2D":  # weights 1, KH, KW, O: one input channel each
            per = int(weights[1] * weights[2])
        else:  # weights O, I
            per = int(weights[1])
        out[kind] = out.get(kind, 0) + per * int(np.prod(result))
    return out


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for p in paths:
        try:
            macs = count_macs(p)
        except (OSError, ValueError) as exc:  # missing file, not a TFLite flatbuffer
            print(f"{p}: not a readable TFLite model ({exc})", file=sys.stderr)
            return 1
        parts = ", ".join(f"{k} {v / 1e6:.1f} M" for k, v in sorted(macs.items()))
        print(f"{p}: {sum(macs.values()) / 1e6:.1f} M multiply-adds ({parts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
