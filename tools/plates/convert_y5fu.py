"""Convert HyperLPR3's y5fu plate detector (ONNX, Apache-2.0) into the TFLite file the gateway ships.

Why a tool and not a runtime step: the conversion needs onnx2tf + TensorFlow (1.5 GB), which
never belong in the gateway's runtime set. Run it in a separate tool venv::

    python3 -m venv /work/venv-onnx2tf
    /work/venv-onnx2tf/bin/pip install onnx2tf==1.29.24 "pydantic>=2.6,<3"
    /work/venv-onnx2tf/bin/python tools/plates/convert_y5fu.py \
        [--onnx ../shared/models/hyperlpr3_y5fu/y5fu_320x_sim.onnx] [--out models/plates/]

The source model is checked against the SHA-256 in ``models/assets.toml`` (asset
``hyperlpr3_y5fu_320``); onnx2tf rewrites the ``.onnx`` it is given in place, so copies are
converted in a scratch folder.

What is written, per input shape W x H in (320 x 320, 160 x 160, 320 x 192, 160 x 128):
``models/plates/plate_finder_y5fuS_f16.tflite`` for a square S, ``plate_finder_y5fuWxH_f16.tflite``
otherwise; the graph **cut before its built-in decode** (outputs: the three stride heads, NHWC
``[1,H/8,W/8,45]``, ``[1,H/16,W/16,45]``, ``[1,H/32,W/32,45]``), decoded in numpy by
:func:`gateway.plates.finder.decode_heads`. Cutting there lets the same weights run at 160 px
for vehicle crops (~4x cheaper than 320) and on 16:9 frames at 320 x 192: such a frame
letterboxed into 320 x 320 is 44 % black padding, which the network would convolve for nothing
(YOLOv5's own "rectangular inference"; a 320 x 256 shape for 4:3 frames, ``--shape 320x256``, was
measured and not shipped: models/plates/MODEL_CARD.md, "Wide frames"). The graph's
channel-shuffle reshapes carry the spatial size as constants, which the script rescales to H
and W. Weights are stored as float16 (half
the bytes; the interpreter dequantises once at load, inference runs float32 with XNNPACK on
both ai-edge-litert and tflite-runtime). Full int8 is not offered: it moves the corners by
~2 px at 320 and runs ~10x slower on tflite-runtime 2.14 on x86 (ENVIRONMENT.md).

Before writing, the script checks each model against ONNX Runtime running the original
ONNX with its own decode, on real masked scenes: at 320 the rows must agree with the
original's output; at other shapes the original (320 x 320 only) is not comparable, so they are
checked against ONNX Runtime on the rescaled ONNX graph.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DEFAULT_ONNX = SHARED / "models" / "hyperlpr3_y5fu" / "y5fu_320x_sim.onnx"
#: (width, height) of each converted model: the square whole-frame and vehicle finders, then the
#: wide-frame and wide-vehicle-box finders (gateway/plates/finder.py: DEFAULT_WIDE_FINDERS,
#: DEFAULT_VEHICLE_WIDE_FINDERS)
SHAPES = ((320, 320), (160, 160), (320, 192), (160, 128))
#: the stride heads, the last tensors before y5fu's built-in decode
HEADS = ["948", "1061", "1174"]
#: channel-shuffle Reshape targets whose last two entries are the spatial size at 320
SPATIAL_RESHAPES = ("419", "422", "531", "534", "763", "766")
#: the converted model must agree with ONNX Runtime this closely (pixels at 320 / score units)
MAX_BOX_DIFF_PX, MAX_SCORE_DIFF = 0.5, 0.01


def out_name(width: int, height: int) -> str:
    """File name of the converted model for input ``width`` x ``height``."""
    shape = f"{width}" if width == height else f"{width}x{height}"
    return f"plate_finder_y5fu{shape}_f16.tflite"


def heads_onnx(src: Path, dst: Path, width: int, height: int) -> None:
    """Cut ``src`` at the stride heads and rescale its spatial constants to ``width`` x ``height``."""
    import onnx
    import onnx.utils
    from onnx import numpy_helper

    onnx.utils.extract_model(str(src), str(dst), ["input"], HEADS)
    m = onnx.load(str(dst))
    del m.graph.value_info[:]  # shapes inferred at 320 would pin the size
    for init in m.graph.initializer:
        if init.name in SPATIAL_RESHAPES:
            a = numpy_helper.to_array(init).copy()
            # NCHW: the last two entries are height and width at 320 x 320
            a[-2] = a[-2] * height // 320
            a[-1] = a[-1] * width // 320
            init.CopyFrom(numpy_helper.from_array(a, init.name))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = height, width
    for out, stride in zip(m.graph.output, (8, 16, 32), strict=True):
        od = out.type.tensor_type.shape.dim
        od[2].dim_value, od[3].dim_value = height // stride, width // stride
    onnx.save(m, str(dst))


def sample_inputs(n: int = 8, width: int = 320, height: int = 320) -> np.ndarray:
    """Letterboxed real scenes (NHWC, RGB 0..1) for the ONNX/TFLite agreement check."""
    sys.path.insert(0, str(REPO))
    from gateway.plates.finder import letterbox
    from models.plates import real_scenes

    rows = real_scenes.read_labels()[:: max(1, len(real_scenes.read_labels()) // n)][:n]
    xs = []
    for r in rows:
        img = real_scenes.load_masked(r)
        if height < width:  # a wide finder sees wide frames: the scene's top, cut to its aspect
            img = img[: max(8, img.shape[1] * height // width)]
        x, _ = letterbox(img, width, height)
        xs.append(x)
    return np.stack(xs)


def check(tflite: Path, onnx_path: Path, width: int, height: int, full_decode: bool) -> tuple[float, float]:
    """Worst box and score differences of ``tflite`` (heads + numpy decode) against ONNX Runtime."""
    import onnxruntime as ort

    from gateway.inference import load_model
    from gateway.plates.finder import decode_heads

    model = load_model(tflite)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst_box = worst_score = 0.0
    for xi in sample_inputs(width=width, height=height):
        ref = sess.run(None, {"input": xi.transpose(2, 0, 1)[None]})
        # the original's own decode, or the rescaled ONNX heads (NCHW) through the numpy decode
        ref_rows = ref[0][0] if full_decode else decode_heads([r.transpose(0, 2, 3, 1) for r in ref], width)
        rows = decode_heads(model.invoke(xi[None]), width)
        if rows.shape != ref_rows.shape:
            raise SystemExit(f"{tflite.name}: {rows.shape} rows, ONNX Runtime {ref_rows.shape}")
        keep = ref_rows[:, 4] > 0.1  # compare where it matters: candidate rows
        worst_box = max(worst_box, float(np.abs(rows[keep, :4] - ref_rows[keep, :4]).max(initial=0)))
        worst_score = max(worst_score, float(np.abs(rows[:, 4] - ref_rows[:, 4]).max()))
    return worst_box, worst_score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", type=Path, default=DEFAULT_ONNX)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "plates")
    ap.add_argument("--shape", action="append", default=None, metavar="WxH",
                    help="convert only this shape (repeatable; default: the shipped ones)")
    args = ap.parse_args(argv)

    data = args.onnx.read_bytes()
    sys.path.insert(0, str(REPO))
    from gateway.assets.manifest import load_manifest

    want = load_manifest().get("hyperlpr3_y5fu_320").sha256
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
        shapes = SHAPES if args.shape is None else [tuple(map(int, x.split("x"))) for x in args.shape]
        for width, height in shapes:
            size = f"{width}x{height}"
            heads = work / f"heads{size}.onnx"
            heads_onnx(src, heads, width, height)
            reference = work / f"reference{size}.onnx"
            shutil.copyfile(heads, reference)  # onnx2tf rewrites `heads` in place
            subprocess.run([str(onnx2tf), "-i", heads.name, "-o", f"out{size}", "-n"], cwd=work, check=True)
            f16 = work / f"out{size}" / f"heads{size}_float16.tflite"
            if not f16.is_file():
                names = sorted(p.name for p in (work / f"out{size}").iterdir())
                raise SystemExit(f"onnx2tf wrote no {f16.name}: {names}")
            # at 320 x 320 the original ONNX with its own decode is the reference
            full = (width, height) == (320, 320)
            box, score = check(f16, src if full else reference, width, height, full)
            print(f"{size}: TFLite heads + numpy decode vs ONNX Runtime: box {box:.4f} px, score {score:.5f}")
            if box > MAX_BOX_DIFF_PX or score > MAX_SCORE_DIFF:
                raise SystemExit(f"converted {size} model disagrees with ONNX Runtime: not written")
            args.out.mkdir(parents=True, exist_ok=True)
            dst = args.out / out_name(width, height)
            shutil.copyfile(f16, dst)
            digest = hashlib.sha256(dst.read_bytes()).hexdigest()
            print(f"wrote {dst} ({dst.stat().st_size} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
