"""Convert the plate recognizer of PyPI ``hyperlpr`` 0.0.2 (Caffe) into the int8 TFLite file the
gateway ships as its second reader (``models/plates/second_reader_int8.tflite``).

Why: two recognizers trained on different data disagree where each is unsure, and their
product (``gateway/plates/second_opinion.py``) reads more real plates than either. HyperLPR's
"SegmenationFree-Inception" was trained by its authors on real Chinese plates of many
provinces, which edgepost's own recognizer has only as synthetic glyphs.

Why a tool: it needs TensorFlow, which never belongs in the gateway's runtime set. Run it in
the tool venv of ``convert_y5fu.py`` with OpenCV added::

    python3 -m venv /work/venv-onnx2tf
    /work/venv-onnx2tf/bin/pip install onnx2tf==1.29.24 "pydantic>=2.6,<3" numpy==1.26.4 \
        opencv-python-headless==4.11.0.86
    /work/venv-onnx2tf/bin/python tools/plates/convert_hyperlpr_recognizer.py \
        [--wheel hyperlpr-0.0.2-py3-none-any.whl]

Without ``--wheel`` the wheel is fetched from PyPI with ``pip download``; either way it must
match the SHA-256 of asset ``hyperlpr_0_0_2_wheel`` in ``models/assets.toml``.

What is written: the same network (weights read by OpenCV's Caffe importer, batch norm folded
into the convolutions) as a Keras graph whose input is a plate image the natural way up,
``[1, 40, 160, 3]`` RGB pixels (the Caffe model takes it transposed, ``[1, 3, 160, 40]``: the
kernels are transposed to match), and whose output is the **logits** ``[1, 20, 84]``: 20 time
steps x (83 characters of ``SECOND_CHARS`` in gateway/plates/second_opinion.py + CTC blank
last); the softmax is left to numpy. Weights are stored as int8 with float activations
("dynamic range": 2.5 MB, 0.65 ms per crop on ai-edge-litert, greedy reads equal to the
original's on 97.8 % of real crops). Full int8 (``--mode int8``, calibrated on the real
training-side crops, never a validation plate) agreed on only 85.7 % and lost most of what the
second opinion adds, and was no faster. The script checks the file against OpenCV running the
original on real crops before writing it.

Attribution: *plate recognizer from HyperLPR by zeusees (Jack Yu), PyPI hyperlpr 0.0.2; the
package declares the MIT licence, the upstream repository Apache-2.0.*
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from gateway.assets.manifest import load_manifest  # noqa: E402

OUT = REPO / "models" / "plates" / "second_reader_int8.tflite"
ASSET = "hyperlpr_0_0_2_wheel"
PROTOTXT = "hyperlpr/models/dnn/SegmenationFree-Inception.prototxt"
CAFFEMODEL = "hyperlpr/models/dnn/SegmenationFree-Inception.caffemodel"
#: the converted model's greedy reads must agree with the original's on this share of real crops
MIN_AGREEMENT = 0.97


def fetch_wheel(scratch: Path) -> Path:
    """``pip download`` the pinned wheel into ``scratch`` (PyPI is the one place it comes from)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(scratch),
                    "hyperlpr==0.0.2"], check=True)
    return next(scratch.glob("hyperlpr-0.0.2-*.whl"))


def caffe_net(wheel: Path | None, scratch: Path, prototxt: str, caffemodel: str):
    """OpenCV's net of ``prototxt``/``caffemodel`` from the pinned wheel (``wheel``, or fetched
    into ``scratch``), after checking the wheel's SHA-256 against asset ``hyperlpr_0_0_2_wheel``;
    the files are extracted into ``scratch``. Exits with a message on a wrong wheel."""
    import cv2

    wheel = wheel or fetch_wheel(scratch)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != load_manifest().get(ASSET).sha256:
        sys.exit(f"{wheel}: SHA-256 {digest} is not the one in models/assets.toml ({ASSET})")
    with zipfile.ZipFile(wheel) as zf:
        zf.extract(prototxt, scratch)
        zf.extract(caffemodel, scratch)
    return cv2.dnn.readNetFromCaffe(str(scratch / prototxt), str(scratch / caffemodel))


def caffe_layers(prototxt: str) -> dict[str, dict[str, int]]:
    """Per convolution layer name, its ``pad_h``/``pad_w``/``kernel_h``/``kernel_w`` (the net is
    a plain chain with one four-branch block; the structure itself is written out below)."""
    out: dict[str, dict[str, int]] = {}
    for block in prototxt.split("layer {")[1:]:
        name = re.search(r'name:\s*"([^"]+)"', block)
        if name and '"Convolution"' in block:
            fields = re.findall(r"(pad_h|pad_w|kernel_h|kernel_w):\s*(\d+)", block)
            out[name.group(1)] = {k: int(v) for k, v in fields}
    return out


def folded(net, conv: str, bn: str, scale: str) -> tuple[np.ndarray, np.ndarray]:
    """Keras ``(kh, kw, in, out)`` kernel and bias of Caffe ``conv`` with ``bn`` + ``scale`` folded
    in, spatial axes swapped (Caffe's input is the plate transposed)."""
    w, b = (x.astype(np.float64) for x in net.getLayer(net.getLayerId(conv)).blobs)
    mean, var, factor = (x.astype(np.float64).ravel() for x in net.getLayer(net.getLayerId(bn)).blobs)
    f = 1.0 / factor[0] if factor[0] != 0 else 0.0
    mean, var = mean * f, var * f
    gamma, beta = (x.astype(np.float64).ravel() for x in net.getLayer(net.getLayerId(scale)).blobs)
    k = gamma / np.sqrt(var + 1e-3)  # eps 0.001 in every BatchNorm of the prototxt
    w = w * k[:, None, None, None]
    b = (b.ravel() - mean) * k + beta
    # Caffe (out, in, kh=plate x, kw=plate y) -> Keras (kh=plate y, kw=plate x, in, out)
    return w.transpose(3, 2, 1, 0).astype(np.float32), b.astype(np.float32)


def build(net, pads: dict[str, dict[str, int]]):
    """The Keras graph of SegmenationFree-Inception on a ``[1, 40, 160, 3]`` RGB 0..255 input."""
    import tensorflow as tf

    L = tf.keras.layers
    x = x_in = L.Input((40, 160, 3), batch_size=1)
    weights = []

    def conv(x, name, bn, scale, relu=True):
        p = pads[name]
        # Caffe pad_h runs along the plate's x axis, pad_w along its y axis
        if p["pad_h"] or p["pad_w"]:
            x = L.ZeroPadding2D(((p["pad_w"], p["pad_w"]), (p["pad_h"], p["pad_h"])))(x)
        w, b = folded(net, name, bn, scale) if bn else (
            net.getLayer(net.getLayerId(name)).blobs[0].transpose(3, 2, 1, 0),
            net.getLayer(net.getLayerId(name)).blobs[1].ravel())
        if name == "conv0":
            # the Caffe net takes BGR / 255 (blobFromImage without swapRB); this input is RGB
            # pixels: fold the channel order and the scale into the first kernel
            w = w[:, :, ::-1, :] * np.float32(1.0 / 255.0)
        layer = L.Conv2D(w.shape[-1], w.shape[:2], padding="valid", activation="relu" if relu else None)
        y = layer(x)
        weights.append((layer, [w, b]))
        return y

    x = L.MaxPooling2D(2)(conv(x, "conv0", "bn0", "bn0_scale"))
    x = L.MaxPooling2D(2)(conv(x, "conv1", "bn1", "bn1_scale"))
    x = L.MaxPooling2D(2)(conv(x, "conv2", "bn2", "bn2_scale"))
    x = conv(x, "conv2d_1", "batch_normalization_1", "batch_normalization_1_scale")
    branches = [conv(x, f"conv2d_{i}", f"batch_normalization_{i}", f"batch_normalization_{i}_scale")
                for i in (2, 3, 4, 5)]
    x = L.Concatenate(-1)(branches)
    x = conv(x, "conv_1024_11", "batch_normalization_6", "batch_normalization_6_scale")
    x = conv(x, "conv_class_11", None, None, relu=False)  # [1, 1, 20, 84] logits
    out = L.Reshape((20, 84))(x)
    model = tf.keras.Model(x_in, out)
    for layer, wb in weights:
        layer.set_weights(wb)
    return model


def real_crops() -> list[np.ndarray]:
    """Real training-side crops of both sources (BGR), never a validation plate."""
    from models.plates import real_scenes
    from models.plates import split as dsplit

    train, _ = dsplit.split()
    crops = [dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / f) for f, _ in train]
    for label in real_scenes.split()[0]:
        crops.append(real_scenes.box_crop(real_scenes.load_bgr(label), label))
    return crops


def to_input(crop_bgr: np.ndarray) -> np.ndarray:
    """A crop as the TFLite input: ``[1, 40, 160, 3]`` RGB float pixels (as the runtime feeds it)."""
    import cv2

    return cv2.cvtColor(cv2.resize(crop_bgr, (160, 40)), cv2.COLOR_BGR2RGB)[None].astype(np.float32)


def greedy(logits: np.ndarray) -> tuple[int, ...]:
    """Greedy CTC classes of ``(T, 84)`` scores (blank = 83), skipping HyperLPR's first two steps."""
    best = logits[2:].argmax(-1)
    return tuple(int(k) for i, k in enumerate(best) if k != 83 and (i == 0 or k != best[i - 1]))


def main(argv: list[str] | None = None) -> int:
    import cv2
    import tensorflow as tf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="hyperlpr-0.0.2-py3-none-any.whl (default: pip download)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--mode", choices=["dynamic", "int8", "float16"], default="dynamic",
                    help="dynamic (what ships): int8 weights, float activations; int8: full integer")
    ap.add_argument("--min-agreement", type=float, default=MIN_AGREEMENT,
                    help="least share of real crops whose greedy int8 read equals the original's")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        net = caffe_net(args.wheel, scratch, PROTOTXT, CAFFEMODEL)
        model = build(net, caffe_layers((scratch / PROTOTXT).read_text()))

        crops = real_crops()

        def original(crop: np.ndarray) -> np.ndarray:
            # HyperLPR's own pre-processing: resize, transpose, /255, BGR
            blob = cv2.dnn.blobFromImage(cv2.resize(crop, (160, 40)).transpose(1, 0, 2), 1 / 255.0,
                                         (40, 160), (0, 0, 0), False, False)
            net.setInput(blob)
            return np.log(np.maximum(net.forward()[0][:, :, 0].T, 1e-12))  # (20, 84) log-probs

        keras_out = model(to_input(crops[0])).numpy()[0]
        ref = original(crops[0])
        got = keras_out - keras_out.max(-1, keepdims=True)
        got = got - np.log(np.exp(got).sum(-1, keepdims=True))
        diff = float(np.abs(np.exp(got) - np.exp(ref)).max())
        print(f"float graph against OpenCV's Caffe run: max probability difference {diff:.2e}")
        if diff > 1e-3:
            sys.exit("the rebuilt float graph does not match the original: not written")

        def representative():
            for c in crops[::2]:
                yield [to_input(c)]

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if args.mode == "int8":
            conv.representative_dataset = representative
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        elif args.mode == "float16":
            conv.target_spec.supported_types = [tf.float16]
        blob = conv.convert()

        interp = tf.lite.Interpreter(model_content=blob)
        interp.allocate_tensors()
        inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
        agree = 0
        for c in crops:
            s, z = inp["quantization"]
            x = to_input(c)
            if inp["dtype"] == np.int8:
                x = np.clip(np.round(x / s + z), -128, 127).astype(np.int8)
            interp.set_tensor(inp["index"], x)
            interp.invoke()
            q = interp.get_tensor(outp["index"])[0].astype(np.float32)
            os_, oz = outp["quantization"]
            agree += greedy((q - oz) * os_ if os_ else q) == greedy(original(c))
        share = agree / len(crops)
        print(f"converted greedy reads equal to the original's on {agree} of {len(crops)} real crops "
              f"({share:.1%})")
        if share < args.min_agreement:
            sys.exit("the converted model strays from the original: not written")
        args.out.write_bytes(blob)
        print(f"wrote {args.out} ({len(blob)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
