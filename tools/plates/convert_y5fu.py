"""Convert HyperLPR3's y5fu plate detector (ONNX, Apache-2.0) into the TFLite file the gateway ships.

Why a tool and not a runtime step: the conversion needs onnx2tf + TensorFlow (1.5 GB), which
never belong in the gateway's runtime set. Run it in a separate tool venv::

    python3 -m venv /work/venv-onnx2tf
    /work/venv-onnx2tf/bin/pip install onnx2tf==1.29.24
    /work/venv-onnx2tf/bin/python tools/plates/convert_y5fu.py \
        [--onnx ../shared/models/hyperlpr3_y5fu/y5fu_320x_sim.onnx] [--out models/plates/]

The source model is checked against the SHA-256 in ``models/assets.toml`` (asset
``hyperlpr3_y5fu_320``); onnx2tf rewrites the ``.onnx`` it is given in place, so a copy is
converted in a scratch folder. The output is the whole graph, built-in decode included
(``[1,320,320,3]`` float RGB 0..1 in, ``[1,6300,15]`` out), stored with float16 weights:
half the bytes of float32, and the interpreter dequantises them once at load so inference is
float32 (XNNPACK) on both ai-edge-litert and tflite-runtime. Full int8 is not offered here:
the model's last tensor mixes pixel coordinates and scores under one scale, so int8 rounds
every score to 0 (see ../shared/design/ENVIRONMENT.md).

The script checks the converted model against ONNX Runtime on real scenes before it writes
anything (max abs difference of boxes/scores), and prints the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DEFAULT_ONNX = SHARED / "models" / "hyperlpr3_y5fu" / "y5fu_320x_sim.onnx"
OUT_NAME = "plate_finder_y5fu320_f16.tflite"
#: the converted model must agree with ONNX Runtime this closely (pixels at 320 / score units)
MAX_BOX_DIFF_PX, MAX_SCORE_DIFF = 0.5, 0.01


def manifest_sha(name: str) -> str:
    """The SHA-256 recorded for asset ``name`` in models/assets.toml."""
    with open(REPO / "models" / "assets.toml", "rb") as fh:
        data = tomllib.load(fh)
    for a in data["asset"]:
        if a["name"] == name:
            return a["sha256"]
    raise SystemExit(f"asset {name!r} missing from models/assets.toml")


def sample_inputs(n: int = 8) -> np.ndarray:
    """Letterboxed real scenes (NHWC, RGB 0..1) for the ONNX/TFLite agreement check."""
    sys.path.insert(0, str(REPO))
    from gateway.plates.finder import letterbox
    from models.plates import real_scenes

    rows = real_scenes.read_labels()[:: max(1, len(real_scenes.read_labels()) // n)][:n]
    xs = []
    for r in rows:
        img = real_scenes.load_masked(r)
        x, _ = letterbox(img, 320)
        xs.append(x)
    return np.stack(xs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", type=Path, default=DEFAULT_ONNX)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "plates")
    args = ap.parse_args(argv)

    data = args.onnx.read_bytes()
    want = manifest_sha("hyperlpr3_y5fu_320")
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise SystemExit(f"{args.onnx}: SHA-256 {got} is not the manifest's {want}; use the pinned model")

    with tempfile.TemporaryDirectory(prefix="y5fu-") as tmp:
        work = Path(tmp)
        src = work / "y5fu_320x_sim.onnx"
        src.write_bytes(data)  # onnx2tf rewrites its input in place: never hand it the original
        # offline: onnx2tf would download its default calibration sample without this file
        np.save(
            work / "calibration_image_sample_data_20x128x128x3_float32.npy",
            np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32),
        )
        onnx2tf = Path(sys.executable).with_name("onnx2tf")
        subprocess.run([str(onnx2tf), "-i", src.name, "-o", "out", "-n"], cwd=work, check=True)
        f16 = work / "out" / "y5fu_320x_sim_float16.tflite"
        if not f16.is_file():
            names = sorted(p.name for p in (work / "out").iterdir())
            raise SystemExit(f"onnx2tf wrote no {f16.name}: {names}")

        import onnxruntime as ort
        from ai_edge_litert.interpreter import Interpreter

        x = sample_inputs()
        sess = ort.InferenceSession(str(DEFAULT_ONNX), providers=["CPUExecutionProvider"])
        interp = Interpreter(model_path=str(f16), num_threads=1)
        interp.allocate_tensors()
        ind, outd = interp.get_input_details()[0], interp.get_output_details()[0]
        worst_box = worst_score = 0.0
        for xi in x:
            ref = sess.run(None, {sess.get_inputs()[0].name: xi.transpose(2, 0, 1)[None]})[0][0]
            interp.set_tensor(ind["index"], xi[None])
            interp.invoke()
            out = interp.get_tensor(outd["index"])[0]
            keep = ref[:, 4] > 0.1  # compare where it matters: candidate rows
            worst_box = max(worst_box, float(np.abs(out[keep, :4] - ref[keep, :4]).max(initial=0)))
            worst_score = max(worst_score, float(np.abs(out[:, 4] - ref[:, 4]).max()))
        print(f"TFLite vs ONNX Runtime, {len(x)} scenes: box {worst_box:.4f} px, score {worst_score:.5f}")
        if worst_box > MAX_BOX_DIFF_PX or worst_score > MAX_SCORE_DIFF:
            raise SystemExit("converted model disagrees with ONNX Runtime: not written")
        args.out.mkdir(parents=True, exist_ok=True)
        dst = args.out / OUT_NAME
        shutil.copyfile(f16, dst)
        digest = hashlib.sha256(dst.read_bytes()).hexdigest()
        print(f"wrote {dst} ({dst.stat().st_size} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
