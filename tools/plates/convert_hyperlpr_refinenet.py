"""Convert the plate corner regressor of PyPI ``hyperlpr`` 0.0.2 ("refinenet", Caffe) into a
float16 TFLite file (default ``<work>/corner_refiner_f16.tflite``; not shipped).

Why: on small plates (40-80 px wide) the finder's corners are often 2-8 px off, enough to cut
off an edge character; on development composites the recognizer reads tight crops of such
plates almost always. HyperLPR's refinenet regresses a plate's four corners from a loose crop
around it, in two passes (the second on the plate re-centred at three times the size). Session
39 read plates not sure again from its corners: a few more development composites, but on the
held-out sets one more wrong read on the halved toll-lane photos and two more wrong composites,
so it was **not kept** (MODEL_CARD.md, "Session 39"). The tool stays so that the trial can be
repeated, or the regressor used as a teacher.

Why a tool: it needs TensorFlow, which never belongs in the gateway's runtime set. Run it in the
training venv (TensorFlow and OpenCV)::

    /work/venv-train/bin/python tools/plates/convert_hyperlpr_refinenet.py \
        [--wheel hyperlpr-0.0.2-py3-none-any.whl]

Without ``--wheel`` the wheel is fetched from PyPI with ``pip download``; either way it must
match the SHA-256 of asset ``hyperlpr_0_0_2_wheel`` in ``models/assets.toml``.

What is written: the same network (an MTCNN "ONet": four convolutions with PReLU and three max
pools, two fully connected layers; only its corner head ``conv6-3`` is kept) as a Keras graph
whose input is ``[1, 48, 120, 3]`` **BGR pixels 0..255** (HyperLPR's ``(x - 127.5) / 128`` is
folded into the first kernel, exact because that convolution has no padding) and whose output
is ``[1, 8]``: the corners x0, y0, ..., x3, y3 (lt, rt, rb, lb) as shares of the input's width
and height. Caffe's ceil-mode pooling is matched by one row and column of -inf-like padding
before the first pool; the first fully connected layer's rows are reordered from Caffe's
channel-first flattening to TFLite's channel-last. Weights are stored as float16 (float
compute). The script checks the file against OpenCV running the original on real crops
before writing it.

Attribution: *plate corner regressor "refinenet" from HyperLPR by zeusees (Jack Yu), PyPI
hyperlpr 0.0.2; the package declares the MIT licence, the upstream repository Apache-2.0.*
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from models.plates.common import WORK  # noqa: E402
from tools.plates.convert_hyperlpr_recognizer import caffe_net, real_crops  # noqa: E402

OUT = WORK / "corner_refiner_f16.tflite"
PROTOTXT = "hyperlpr/models/dnn/refinenet.prototxt"
CAFFEMODEL = "hyperlpr/models/dnn/refinenet.caffemodel"
IN_W, IN_H = 120, 48
#: the converted corners may differ from the original's by at most this share of the input
MAX_CORNER_DIFF = 0.01


def _blobs(net, name: str) -> list[np.ndarray]:
    return [b.astype(np.float32) for b in net.getLayer(net.getLayerId(name)).blobs]


def build(net):
    """The Keras graph of refinenet's corner head on a ``[1, 48, 120, 3]`` BGR 0..255 input."""
    import tensorflow as tf

    L = tf.keras.layers
    x = x_in = L.Input((IN_H, IN_W, 3), batch_size=1)
    weights = []

    def conv(x, name: str, first: bool = False):
        w, b = _blobs(net, name)
        w = w.transpose(2, 3, 1, 0)  # Caffe (out, in, kh, kw) -> Keras (kh, kw, in, out)
        b = b.ravel()
        if first:  # fold HyperLPR's (x - 127.5) * 0.0078125 into the kernel (valid padding: exact)
            b = b - 127.5 * 0.0078125 * w.sum(axis=(0, 1, 2))
            w = w * np.float32(0.0078125)
        layer = L.Conv2D(w.shape[-1], w.shape[:2], padding="valid")
        y = layer(x)
        weights.append((layer, [w, b]))
        return prelu(y, f"prelu{name[-1]}", conv_axes=True)

    def prelu(x, name: str, conv_axes: bool):
        (slope,) = _blobs(net, name)
        layer = L.PReLU(shared_axes=[1, 2] if conv_axes else None)
        y = layer(x)
        weights.append((layer, [slope.reshape(layer.get_weights()[0].shape)]))
        return y

    x = conv(x, "conv1", first=True)  # 46 x 118
    # Caffe rounds pooled sizes up: 46 x 118 pooled 3/2 gives 23 x 59, which needs one more
    # row and column at the end; a very negative fill never wins a max
    x = L.Lambda(lambda t: tf.pad(t, [[0, 0], [0, 1], [0, 1], [0, 0]], constant_values=-1e4))(x)
    x = L.MaxPooling2D(3, 2)(x)  # 23 x 59
    x = L.MaxPooling2D(3, 2)(conv(x, "conv2"))  # 21 x 57 -> 10 x 28
    x = L.MaxPooling2D(2, 2)(conv(x, "conv3"))  # 8 x 26 -> 4 x 13
    x = conv(x, "conv4")  # 3 x 12 x 128
    h, w, c = (int(v) for v in x.shape[1:])
    x = L.Flatten()(x)
    w5, b5 = _blobs(net, "conv5i")
    # Caffe flattens (c, h, w); Keras flattens (h, w, c)
    w5 = w5.reshape(-1, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, -1)
    dense5 = L.Dense(w5.shape[1])
    x = dense5(x)
    weights.append((dense5, [w5, b5.ravel()]))
    x = prelu(x, "prelu5", conv_axes=False)
    w6, b6 = _blobs(net, "conv6-3")
    dense6 = L.Dense(w6.shape[0])
    out = dense6(x)
    weights.append((dense6, [w6.T, b6.ravel()]))
    model = tf.keras.Model(x_in, out)
    for layer, wb in weights:
        layer.set_weights(wb)
    return model


def to_input(crop_bgr: np.ndarray) -> np.ndarray:
    """A crop as the TFLite input: ``[1, 48, 120, 3]`` BGR float pixels (as the runtime feeds it)."""
    import cv2

    return cv2.resize(crop_bgr, (IN_W, IN_H))[None].astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    import cv2
    import tensorflow as tf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="hyperlpr-0.0.2-py3-none-any.whl (default: pip download)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        net = caffe_net(args.wheel, Path(tmp), PROTOTXT, CAFFEMODEL)
        model = build(net)

        def original(crop: np.ndarray) -> np.ndarray:
            # HyperLPR's own pre-processing (hyperlpr.py, finetune): BGR, (x - 127.5) / 128
            blob = cv2.dnn.blobFromImage(cv2.resize(crop, (IN_W, IN_H)), size=(IN_W, IN_H), swapRB=False,
                                         mean=(127.5, 127.5, 127.5), scalefactor=0.0078125, crop=False)
            net.setInput(blob)
            return net.forward("conv6-3").ravel()

        # loose crops as the runtime cuts them: real plates with a scene-like margin around
        crops = [cv2.copyMakeBorder(c, c.shape[0] // 2, c.shape[0] // 2, c.shape[1] // 5, c.shape[1] // 5,
                                    cv2.BORDER_REPLICATE) for c in real_crops()]
        diff = max(float(np.abs(model(to_input(c)).numpy()[0] - original(c)).max()) for c in crops[:20])
        print(f"float graph against OpenCV's Caffe run: max corner difference {diff:.2e} (shares)")
        if diff > 1e-4:
            sys.exit("the rebuilt float graph does not match the original: not written")

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
        blob = conv.convert()
        interp = tf.lite.Interpreter(model_content=blob)
        interp.allocate_tensors()
        inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
        worst = 0.0
        for c in crops:
            interp.set_tensor(inp["index"], to_input(c))
            interp.invoke()
            worst = max(worst, float(np.abs(interp.get_tensor(outp["index"])[0] - original(c)).max()))
        print(f"converted corners against the original's on {len(crops)} real crops: worst difference "
              f"{worst:.4f} of the input's size")
        if worst > MAX_CORNER_DIFF:
            sys.exit("the converted model strays from the original: not written")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(blob)
        print(f"wrote {args.out} ({len(blob)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
