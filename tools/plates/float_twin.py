"""The float32 twin of an int8 plate recognizer: the same network, its weights dequantised.

    /work/venv-train/bin/python tools/plates/float_twin.py INT8.tflite OUT.tflite

(needs the training extra: TensorFlow builds the file). Why: on an x86 CPU without VNNI,
XNNPACK's int8 kernels are no faster than its float ones, so whether the recognizer would
read faster there stored in float is a question of timing the two files side by side
(``bench/invoke_times.py``). The twin is the shipped network up to the int8 rounding of its
activations (weights dequantised per output channel, batch norm already folded:
``models.plates.train_recognizer.load_tflite_weights``); it is a measuring aid, not a shipped
model, and carries no calibration file.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def float_twin(src: Path, dst: Path) -> int:
    """Write the float32 twin of recognizer ``src`` to ``dst``; its size in bytes."""
    import tensorflow as tf

    from models.plates.train_recognizer import build_model, load_tflite_weights

    model = build_model(global_context=True, batch_norm=False)
    load_tflite_weights(model, src)
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    dst.write_bytes(data)
    return len(data)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dst = Path(argv[0]), Path(argv[1])
    if not src.is_file():
        print(f"float_twin: no such file: {src}", file=sys.stderr)
        return 1
    sys.path.insert(0, str(REPO))
    print(f"{dst}: {float_twin(src, dst)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
