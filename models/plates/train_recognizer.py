"""Train the CTC plate recognizer, export it to full-int8 TFLite and evaluate it.

Usage (training venv with ``.[train]`` + opencv; about 25 minutes on one x86 core)::

    nice -n 10 python -m models.plates.train_recognizer [--steps N] [--synth N]

Data: synthetic plates (``models/plates/synth.py``, provinces uniform) plus real crops from
the *training* sides of two splits by plate text: ``../shared/plates/dev_crops`` (see
``models/plates/split.py``; mostly 皖) and ``../shared/plates/real_scenes_hyperlpr`` (see
``models/plates/real_scenes.py``; mostly 浙, cut by warping the finder's corners flat). Real
crops are drawn with weight ``count(province) ** -BALANCE_POWER`` so that no province's real
crops dominate the batches (the old recognizer learnt 皖 as a prior from 383 皖 crops).
With ``--chain``, a share of every batch is crops cut by the runtime chain itself
(:mod:`models.plates.chain_crops`: plates pasted into training-side scenes, found by the finder,
warped from its corners). ``--init-tflite`` starts from a shipped int8 recognizer (its weights
dequantised, :func:`load_tflite_weights`), so a fine-tune needs no float checkpoint.
A sixth of the training-side plates (:func:`is_calibration`) is held out of training for the
temperature calibration of the confidences; validation plates are never read here except by
the monitoring line and the evaluation at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from gateway.plates.charset import NUM_CLASSES, encode
from models.plates import split as dsplit
from models.plates.common import MODELS_DIR, WORK, limit_threads, scene_background_pool

IN_W, IN_H = 96, 32
MAX_LEN = 8
#: real crops are sampled with weight count(province) ** -BALANCE_POWER (0: as found, 1: flat)
BALANCE_POWER = 0.5


def is_calibration(text: str) -> bool:
    """Training-side plates held out for confidence calibration (a hash of the text only)."""
    return hashlib.sha256(("calibration:" + text).encode("utf-8")).digest()[0] % 6 == 0


def real_training_crops() -> tuple[list[np.ndarray], list[str], list[np.ndarray], list[str]]:
    """RGB crops and texts of both real sources' training sides: ``(train, calibration)``."""
    import cv2

    from gateway.plates.finder import PlateFinder
    from models.plates import real_scenes
    from models.plates.evaluate_scenes import _hyperlpr_crop

    items: list[tuple[np.ndarray, str]] = [
        (dsplit.load_crop_rgb(dsplit.DEFAULT_DEV_CROPS / f), t) for f, t in dsplit.training_rows()
    ]
    finder = PlateFinder()
    for label in real_scenes.split()[0]:
        crop, _ = _hyperlpr_crop(label, finder)
        items.append((cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), label.text))
    train = [(i, t) for i, t in items if not is_calibration(t)]
    calib = [(i, t) for i, t in items if is_calibration(t)]
    return [i for i, _ in train], [t for _, t in train], [i for i, _ in calib], [t for _, t in calib]


def province_weights(texts: list[str], power: float = BALANCE_POWER) -> np.ndarray:
    """Sampling probabilities that flatten the province distribution of ``texts``."""
    from collections import Counter

    counts = Counter(t[0] for t in texts)
    w = np.array([counts[t[0]] ** -power for t in texts])
    return w / w.sum()


def synth_cache(n: int, seed: int, fonts: str = "base",
                vary_glyphs: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` synthetic recognizer samples (images, padded labels, lengths), cached on disk;
    ``fonts``: the renderer's font set (:data:`models.plates.synth.FONT_SETS`); ``vary_glyphs``:
    its CJK glyphs varied (:func:`models.plates.synth.vary_glyph`)."""
    path = WORK / (f"rec_synth_{n}_{seed}{'' if fonts == 'base' else '_' + fonts}"
                   f"{'_varied' if vary_glyphs else ''}.npz")
    if path.exists():
        d = np.load(path)
        return d["x"], d["y"], d["n"]
    from models.plates.synth import PlateRenderer, plate_crop

    rng = np.random.default_rng(seed)
    pool = scene_background_pool()
    r = PlateRenderer(fonts, vary_glyphs=vary_glyphs)
    x = np.empty((n, IN_H, IN_W, 3), np.uint8)
    y = np.zeros((n, MAX_LEN), np.int32)
    ln = np.zeros((n,), np.int32)
    t0 = time.time()
    for i in range(n):
        p = r.random_plate(rng)
        x[i] = plate_crop(p, rng, pool, (IN_W, IN_H))
        lab = encode(p.text)
        y[i, : len(lab)] = lab
        ln[i] = len(lab)
        if i % 5000 == 0:
            print(f"synth {i}/{n} {time.time() - t0:.0f}s", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y, n=ln)
    return x, y, ln


def double_row_cache(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` synthetic two-row yellow plates, laid out as one row by the runtime's
    :func:`gateway.plates.finder.merge_rows` (what the reader sees of a two-row plate)."""
    path = WORK / f"rec_double_{n}_{seed}.npz"
    if path.exists():
        d = np.load(path)
        return d["x"], d["y"], d["n"]
    import cv2

    from gateway.plates.finder import merge_rows
    from models.plates.synth import PlateRenderer, plate_crop, random_text

    rng = np.random.default_rng(seed)
    pool = scene_background_pool()
    r = PlateRenderer()
    x = np.empty((n, IN_H, IN_W, 3), np.uint8)
    texts = []
    for i in range(n):
        text = random_text("double_yellow", rng)
        crop = plate_crop(r.render("double_yellow", text, rng), rng, pool, (128, 64))  # 2:1 like the plate
        x[i] = cv2.resize(merge_rows(crop), (IN_W, IN_H), interpolation=cv2.INTER_AREA)
        texts.append(text)
    y, ln = encode_texts(texts)
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y, n=ln)
    return x, y, ln


def negative_cache(n: int, seed: int) -> np.ndarray:
    """``n`` negative samples (foreign plates, text panels, empty panels, texture; empty
    target), cached on disk; see :mod:`models.plates.negatives`."""
    path = WORK / f"rec_negative_{n}_{seed}.npz"
    if path.exists():
        return np.load(path)["x"]
    from models.plates.negatives import negative_crop
    from models.plates.synth import PlateRenderer

    rng = np.random.default_rng(seed + 1000)  # not the positives' stream
    pool = scene_background_pool()
    r = PlateRenderer()
    x = np.stack([negative_crop(rng, r, pool, (IN_W, IN_H)) for _ in range(n)])
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x)
    return x


def load_real(rows: list[tuple[str, str]]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    imgs = [dsplit.load_crop_rgb(dsplit.DEFAULT_DEV_CROPS / f) for f, _ in rows]
    return (imgs, *encode_texts([t for _, t in rows]))


def encode_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Padded label matrix and lengths."""
    y = np.zeros((len(texts), MAX_LEN), np.int32)
    ln = np.zeros((len(texts),), np.int32)
    for i, t in enumerate(texts):
        lab = encode(t)
        y[i, : len(lab)] = lab
        ln[i] = len(lab)
    return y, ln


#: the recognizer's architectures: ``s6`` ships (57.7 M multiply-adds a read); ``lite`` is the
#: same pooling and time steps at about half of them (28 M): narrower second and third blocks,
#: the fourth and fifth depthwise-separable. Why: an AVX2-only CPU reads int8 at about 36 G
#: multiply-adds a second, so a read under 1 ms there needs about 30 M (MODEL_CARD.md).
ARCHITECTURES = ("s6", "lite")


def build_model(global_context: bool = True, batch_norm: bool = True, arch: str = "s6"):
    """A small all-convolutional CTC recognizer: 32x96 RGB -> 24 time steps x NUM_CLASSES logits.

    ``batch_norm=False`` builds the same network as the exported TFLite file holds it: batch
    norm folded into each convolution's bias, and the input's 1/255 scaling folded into the
    first convolution (no ``Rescaling`` layer). :func:`load_tflite_weights` fills it from an
    int8 file, so a shipped recognizer can be fine-tuned without its float checkpoint.

    ``global_context`` adds the mean over all time steps (through a 1x1 conv) to every step:
    a step sees only ~50 px of the 96 px input, so the last characters cannot see whether
    there is a province glyph at the left; with negatives (foreign plates read as nothing)
    the steps without that context learnt to drop their character."""
    import keras
    from keras import layers

    def cbr(x, f, k=3, strides=1, padding="same"):
        x = layers.Conv2D(f, k, strides=strides, padding=padding, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    def separable(x, f):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        return cbr(layers.ReLU()(x), f, k=1)

    if arch not in ARCHITECTURES:
        raise ValueError(f"architecture {arch!r}: one of {', '.join(ARCHITECTURES)}")
    lite = arch == "lite"
    inp = keras.Input((IN_H, IN_W, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0)(inp) if batch_norm else inp
    x = cbr(x, 32)
    x = layers.MaxPooling2D(2)(x)  # 16x48
    x = cbr(x, 48 if lite else 64)
    x = layers.MaxPooling2D(2)(x)  # 8x24
    x = cbr(x, 96)
    x = separable(x, 96) if lite else cbr(x, 96)
    x = layers.MaxPooling2D((2, 1))(x)  # 4x24
    x = separable(x, 128) if lite else cbr(x, 128)
    x = cbr(x, 128, k=(4, 1), padding="valid")  # 1x24
    x = cbr(x, 128, k=(1, 5))
    if global_context:
        g = layers.GlobalAveragePooling2D(keepdims=True, name="global_pool")(x)  # 1x1
        # zero-initialised: a model started from weights without this branch starts unchanged
        g = layers.Conv2D(128, 1, kernel_initializer="zeros", name="global_proj")(g)
        g = layers.UpSampling2D((1, x.shape[2]), name="global_tile")(g)  # 1x24, same value per step
        x = layers.ReLU()(layers.Add(name="global_add")([x, g]))
    x = layers.Dropout(0.15)(x)
    x = layers.Conv2D(NUM_CLASSES, 1, name="logits")(x)  # 1x24xC
    out = layers.Reshape((-1, NUM_CLASSES), name="seq")(x)
    return keras.Model(inp, out, name="plate_recognizer")


def load_weights_into(model, path: Path) -> None:
    """Load Keras weights, also from a model without the global-context branch: the layers
    with weights are matched in order, the branch's layers (``global_*``) keep their init."""
    try:
        model.load_weights(path)
        return
    except ValueError:
        pass
    src = build_model(global_context=False)
    src.load_weights(path)
    dst_layers = [la for la in model.layers if la.weights and not la.name.startswith("global_")]
    src_layers = [la for la in src.layers if la.weights]
    if len(dst_layers) != len(src_layers):
        raise ValueError(f"{path}: {len(src_layers)} weighted layers, model has {len(dst_layers)}")
    for d, s in zip(dst_layers, src_layers, strict=True):
        d.set_weights(s.get_weights())


def load_tflite_weights(model, path: Path) -> None:
    """Fill a ``build_model(batch_norm=False)`` network from an exported int8 TFLite recognizer.

    Why: only the int8 file of a shipped recognizer is kept; its weights, dequantised (per
    output channel), are the float network up to the int8 rounding of its weights, which a short
    fine-tune absorbs. Convolutions are matched in graph order, checked by shape."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    tensors = {d["index"]: d for d in it.get_tensor_details()}

    def dequant(index: int) -> np.ndarray:
        d = tensors[index]
        q = d["quantization_parameters"]
        raw = it.get_tensor(index).astype(np.float64)
        scales = np.asarray(q["scales"], np.float64)
        zps = np.asarray(q["zero_points"], np.float64)
        shape = [-1] + [1] * (raw.ndim - 1)  # per output channel (axis 0)
        return ((raw - zps.reshape(shape)) * scales.reshape(shape)).astype(np.float32)

    convs = [op for op in it._get_ops_details() if op["op_name"] == "CONV_2D"]
    layers_ = [la for la in model.layers if la.__class__.__name__ == "Conv2D"]
    if len(convs) != len(layers_):
        raise ValueError(f"{path}: {len(convs)} convolutions, model has {len(layers_)}")
    for op, layer in zip(convs, layers_, strict=True):
        _, w_index, b_index = op["inputs"][:3]
        w = dequant(int(w_index)).transpose(1, 2, 3, 0)  # OHWI -> HWIO
        b = dequant(int(b_index))
        if w.shape != tuple(layer.kernel.shape):
            raise ValueError(f"{path}: {layer.name} wants {tuple(layer.kernel.shape)}, file has {w.shape}")
        layer.set_weights([w, b])


class Teacher:
    """A shipped int8 recognizer whose per-step character distributions a student learns
    besides the CTC target (knowledge distillation): a smaller network learns more from a
    teacher's full distributions than from the labels alone. ``batch``: the fixed batch size."""

    def __init__(self, path: Path, batch: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.it = Interpreter(model_path=str(path), num_threads=1)
        inp = self.it.get_input_details()[0]
        self.it.resize_tensor_input(inp["index"], [batch, IN_H, IN_W, 3])
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Float logits (N, T, C) of ``x`` (N, H, W, 3 RGB pixels 0..255)."""
        scale, zp = self.inp["quantization"]
        q = np.clip(np.rint(x.astype(np.float32) / scale) + zp, -128, 127).astype(np.int8)
        self.it.set_tensor(self.inp["index"], q)
        self.it.invoke()
        oscale, ozp = self.out["quantization"]
        return (self.it.get_tensor(self.out["index"]).astype(np.float32) - ozp) * oscale


def to_grey(x: np.ndarray, which: np.ndarray) -> np.ndarray:
    """``x`` (N,H,W,3 RGB uint8) with the images where ``which`` is set replaced by their luma in
    all three channels: what a monochrome (infrared, black-and-white) camera delivers."""
    out = x.copy()
    if which.any():
        luma = out[which].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        out[which] = np.repeat(np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None], 3, axis=-1)
    return out


def ctc_greedy(logits: np.ndarray) -> list[list[int]]:
    best = logits.argmax(-1)
    res = []
    for row in best:
        seq, prev = [], -1
        for k in row:
            if k != prev and k != 0:
                seq.append(int(k))
            prev = k
        res.append(seq)
    return res


def export_int8(model, rep: np.ndarray, out: Path) -> int:
    import tensorflow as tf

    def gen():
        for i in range(len(rep)):
            yield [rep[i : i + 1].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    out.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=9000)
    ap.add_argument("--synth", type=int, default=50000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--real-frac", type=float, default=0.3, help="share of real training crops per batch")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--balance", type=float, default=BALANCE_POWER, help="province balancing power (0: none)")
    ap.add_argument("--double", type=int, default=6000, help="synthetic two-row plates (merged into one row)")
    ap.add_argument("--negatives", type=int, default=10000, help="cached negative samples (empty target)")
    ap.add_argument("--neg-frac", type=float, default=0.1, help="share of negatives per batch")
    ap.add_argument(
        "--swap", type=float, default=0.5, help="share of real crops whose province glyph is repainted"
    )
    ap.add_argument(
        "--no-global-context", dest="global_context", action="store_false", help="the older architecture"
    )
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "recognizer_int8.tflite")
    ap.add_argument("--init", type=Path, default=None, help="start from these Keras weights")
    ap.add_argument(
        "--init-tflite",
        type=Path,
        default=None,
        help="start from this int8 recognizer, dequantised (the network without batch norm)",
    )
    ap.add_argument(
        "--no-batch-norm",
        dest="batch_norm",
        action="store_false",
        help="the network without batch norm (what --init-tflite builds; to go on from its weights)",
    )
    ap.add_argument(
        "--average-with", type=Path, default=None,
        help="after training, mix the weights with these Keras weights of the same network (a weight"
        " average of two fine-tunes from one start); --steps 0 mixes the start itself",
    )
    ap.add_argument("--average-weight", type=float, default=0.5, help="share of --average-with in the mix")
    ap.add_argument("--chain", type=int, default=0, help="samples cut by the runtime chain (chain_crops.py)")
    ap.add_argument("--chain-seeds", default="41", help="comma-separated seeds of the chain caches")
    ap.add_argument("--chain-frac", type=float, default=0.0, help="share of chain-cut samples per batch")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine decay)")
    ap.add_argument(
        "--grey-frac", type=float, default=0.0,
        help="share of each batch shown without colour, as an infrared or black-and-white camera gives it",
    )
    ap.add_argument(
        "--occlude-frac", type=float, default=0.0,
        help="share of each batch with a hard shadow, a dark bar or a glare spot drawn on it "
        "(models/plates/occlusion.py; the target unchanged)",
    )
    ap.add_argument(
        "--occlude-kinds", default="shadow,bar,glare",
        help="comma-separated occlusion kinds to draw (shadow, bar, glare)",
    )
    ap.add_argument("--arch", choices=ARCHITECTURES, default="s6",
                    help="network: s6 (ships) or lite (about half the multiply-adds)")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="an int8 recognizer whose per-step distributions are learnt as well "
                    "(knowledge distillation)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the teacher's term")
    ap.add_argument("--distill-temp", type=float, default=2.0, help="temperature of both distributions")
    ap.add_argument("--tag", default="recognizer", help="name of the saved weights under the work folder")
    args = ap.parse_args(argv)
    # refused now, not after the caches are built and the training has run
    if not 0.0 <= args.average_weight <= 1.0:
        ap.error(f"--average-weight must be between 0 and 1, not {args.average_weight}")
    if args.average_with and not args.average_with.is_file():
        ap.error(f"--average-with {args.average_with}: no such file")
    if args.teacher and not args.teacher.is_file():
        ap.error(f"--teacher {args.teacher}: no such file")
    if args.arch != "s6" and args.init_tflite:
        ap.error("--init-tflite fills the s6 network only")

    limit_threads()
    import tensorflow as tf

    from models.plates.occlusion import occluded
    from models.plates.synth import PlateRenderer, augment_real, swap_province

    renderer = PlateRenderer()
    occlude_kinds = tuple(k.strip() for k in args.occlude_kinds.split(",") if k.strip())
    # refuse a typo now, not after the caches are built
    occluded(np.zeros((1, 4, 4, 3), np.uint8), np.zeros(1, bool), np.random.default_rng(0), occlude_kinds)

    tf.keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    xs, ys, ns = synth_cache(args.synth, args.seed)
    if args.double:
        xd, yd, nd = double_row_cache(args.double, args.seed)
        xs, ys, ns = np.concatenate([xs, xd]), np.concatenate([ys, yd]), np.concatenate([ns, nd])
    xn = negative_cache(args.negatives, args.seed) if args.negatives and args.neg_frac > 0 else None
    pool = scene_background_pool()
    _, val_rows = dsplit.split()
    real_imgs, real_texts, calib_imgs, calib_texts = real_training_crops()
    real_y, real_n = encode_texts(real_texts)
    real_p = province_weights(real_texts, args.balance)
    val_imgs, val_y, val_n = load_real(val_rows)
    print(
        f"negatives {0 if xn is None else len(xn)}  synth {len(xs)}  real-train {len(real_imgs)}"
        f"  calibration {len(calib_imgs)}  val {len(val_imgs)}",
        flush=True,
    )

    import cv2

    batch_norm = args.batch_norm and args.init_tflite is None
    model = build_model(args.global_context, batch_norm=batch_norm, arch=args.arch)
    model.summary()
    teacher = Teacher(args.teacher, args.batch) if args.teacher else None
    temp = args.distill_temp
    if args.init:
        load_weights_into(model, args.init)
    if args.init_tflite:
        load_tflite_weights(model, args.init_tflite)
    xc = yc = nc = None
    if args.chain and args.chain_frac > 0:
        from models.plates.chain_crops import chain_cache

        parts = [chain_cache(args.chain, int(s)) for s in args.chain_seeds.split(",")]
        xc, yc, nc = (np.concatenate([p[k] for p in parts]) for k in range(3))
        print(f"chain-cut {len(xc)}", flush=True)
    # max(.., 1): --steps 0 (only --average-with) must still build a schedule
    sched = tf.keras.optimizers.schedules.CosineDecay(
        args.lr, max(args.steps, 1), alpha=0.02, warmup_target=None
    )
    opt = tf.keras.optimizers.Adam(sched)

    @tf.function(reduce_retracing=True)
    def step(x, y, ylen, taught):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)  # B,T,C
            t = tf.shape(logits)[1]
            loss = tf.nn.ctc_loss(
                labels=y,
                logits=logits,
                label_length=ylen,
                logit_length=tf.fill([tf.shape(logits)[0]], t),
                logits_time_major=False,
                blank_index=0,
            )
            loss = tf.reduce_mean(loss)
            if teacher is not None:
                # KL(teacher || student) per time step at temperature `temp`, summed over the
                # steps as the CTC loss is; temp**2 keeps its gradients' scale (Hinton et al.)
                tp = tf.nn.softmax(taught / temp)
                kl = tf.reduce_sum(tp * (tf.math.log(tp + 1e-8) - tf.nn.log_softmax(logits / temp)), -1)
                loss += args.distill * temp**2 * tf.reduce_mean(tf.reduce_sum(kl, -1))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    n_real = int(args.batch * args.real_frac)
    n_neg = int(args.batch * args.neg_frac) if xn is not None else 0
    n_chain = int(args.batch * args.chain_frac) if xc is not None else 0
    n_syn = args.batch - n_real - n_neg - n_chain
    val_x = np.stack([cv2.resize(im, (IN_W, IN_H), interpolation=cv2.INTER_AREA) for im in val_imgs])

    def val_acc(m) -> float:
        pred = ctc_greedy(m.predict(val_x, verbose=0))
        ok = sum(int(p == list(val_y[i, : val_n[i]])) for i, p in enumerate(pred))
        return ok / len(pred)

    t0 = time.time()
    losses = []
    for it in range(1, args.steps + 1):
        si = rng.integers(0, len(xs), n_syn)
        ri = rng.choice(len(real_imgs), n_real, p=real_p)
        real_b, ry, rn = [], real_y[ri].copy(), real_n[ri].copy()
        for j, i in enumerate(ri):
            im = real_imgs[i]
            if rng.random() < args.swap:
                im, text = swap_province(im, real_texts[i], rng, renderer)
                ry[j, 0] = encode(text)[0]
            real_b.append(augment_real(im, rng, (IN_W, IN_H), pool))
        xb = np.concatenate([xs[si], np.stack(real_b)])
        yb = np.concatenate([ys[si], ry])
        nb = np.concatenate([ns[si], rn])
        if n_chain:
            ci = rng.integers(0, len(xc), n_chain)
            xb = np.concatenate([xb, xc[ci]])
            yb = np.concatenate([yb, yc[ci]])
            nb = np.concatenate([nb, nc[ci]])
        if n_neg:
            # negatives: the target is the empty sequence (every frame blank)
            xb = np.concatenate([xb, xn[rng.integers(0, len(xn), n_neg)]])
            yb = np.concatenate([yb, np.zeros((n_neg, MAX_LEN), np.int32)])
            nb = np.concatenate([nb, np.zeros((n_neg,), np.int32)])
        if args.grey_frac > 0:
            xb = to_grey(xb, rng.random(len(xb)) < args.grey_frac)
        if args.occlude_frac > 0:
            xb = occluded(xb, rng.random(len(xb)) < args.occlude_frac, rng, occlude_kinds)
        taught = teacher.logits(xb) if teacher is not None else np.zeros((1, 1, 1), np.float32)
        losses.append(float(step(tf.constant(xb, tf.float32), tf.constant(yb), tf.constant(nb),
                                 tf.constant(taught))))
        if it % 250 == 0:
            msg = f"step {it} loss {np.mean(losses[-250:]):.3f} {time.time() - t0:.0f}s"
            if it % 1000 == 0:
                # monitoring only: no model selection or early stopping is driven by this number
                msg += f" val-exact {val_acc(model):.3f}"
            print(msg, flush=True)
    if args.average_with:
        # Why: a weight average of a fine-tune and its start often keeps the start's accuracy
        # on what it already read well while keeping part of what the fine-tune learnt.
        other = build_model(args.global_context, batch_norm=batch_norm, arch=args.arch)
        other.load_weights(args.average_with)
        a = args.average_weight
        pairs = zip(model.get_weights(), other.get_weights(), strict=True)
        model.set_weights([(1 - a) * w + a * o for w, o in pairs])
        print(f"weights averaged: {1 - a:.2f} trained + {a:.2f} {args.average_with}", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    model.save_weights(WORK / f"{args.tag}.weights.h5")

    # representative data: synthetic + real *training* crops only
    rep = np.concatenate(
        [
            xs[rng.integers(0, len(xs), 300)],
            *([xn[rng.integers(0, len(xn), 40)]] if xn is not None else []),
            np.stack([cv2.resize(im, (IN_W, IN_H)) for im in real_imgs[:200]]),
            *([xc[rng.integers(0, len(xc), 200)]] if xc is not None else []),
        ]
    )
    size = export_int8(model, rep, args.out)
    print(f"exported {args.out} ({size} bytes); float val-exact {val_acc(model):.3f}")
    from models.plates.evaluate import evaluate_recognizer

    print(json.dumps(evaluate_recognizer(args.out), indent=1))
    from models.plates.calibrate import calibrate

    calibrate(args.out, [cv2.cvtColor(i, cv2.COLOR_RGB2BGR) for i in calib_imgs], calib_texts)


if __name__ == "__main__":
    main()
