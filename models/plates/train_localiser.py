"""Train the plate localiser (a tiny segmentation net: plate-pixel map at stride 4) and export it.

Usage (training venv; about 15 minutes on one x86 core)::

    nice -n 10 python -m models.plates.train_localiser [--steps N] [--scenes N]

Scenes are synthetic vehicle crops / close-ups (``synth.localiser_scene``): procedural car
bodies or crops of the real photos in ``../shared/media/images`` (backgrounds only, never
committed), distractor text and stripes, 0-2 plates (rendered, or real *training-split*
crops from dev_crops) with perspective, blur, noise, low light and glare.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from models.plates import split as dsplit
from models.plates.common import MODELS_DIR, WORK, background_pool, cached_arrays, limit_threads

SIZE = 160
STRIDE = 4


def scene_cache(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training scenes and their plate masks (cached in the work folder)."""
    d = cached_arrays(f"loc_scenes_{n}_{seed}_{SIZE}.npz", lambda: _build_scenes(n, seed))
    return d["x"], d["m"]


def _build_scenes(n: int, seed: int) -> dict[str, np.ndarray]:
    import cv2

    from models.plates.synth import PlateRenderer, localiser_scene

    rng = np.random.default_rng(seed)
    pool = background_pool()
    train_rows = dsplit.training_rows()
    real = [dsplit.load_crop_rgb(dsplit.DEFAULT_DEV_CROPS / f) for f, _ in train_rows]
    r = PlateRenderer()
    x = np.empty((n, SIZE, SIZE, 3), np.uint8)
    m = np.empty((n, SIZE // STRIDE, SIZE // STRIDE), np.float16)
    t0 = time.time()
    for i in range(n):
        img, mask = localiser_scene(r, rng, SIZE, pool, real)
        x[i] = img
        m[i] = cv2.resize(
            mask.astype(np.float32), (SIZE // STRIDE, SIZE // STRIDE), interpolation=cv2.INTER_AREA
        )
        if i % 2000 == 0:
            print(f"scene {i}/{n} {time.time() - t0:.0f}s", flush=True)
    return {"x": x, "m": m}


def build_model(dynamic: bool = True):
    """Encoder to stride 8 with dilated context, one skip back to stride 4, 1-channel logits."""
    import keras
    from keras import layers

    def cbr(x, f, k=3, strides=1, dilation=1):
        x = layers.Conv2D(f, k, strides=strides, padding="same", dilation_rate=dilation, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    shape = (None, None, 3) if dynamic else (SIZE, SIZE, 3)
    inp = keras.Input(shape, name="image")
    x = layers.Rescaling(1.0 / 255.0)(inp)
    x = cbr(x, 16, strides=2)  # /2
    x = cbr(x, 32, strides=2)  # /4
    s4 = cbr(x, 32)
    x = cbr(s4, 64, strides=2)  # /8
    x = cbr(x, 64, dilation=2)
    x = cbr(x, 64, dilation=4)
    x = layers.Conv2DTranspose(32, 2, strides=2, padding="same", use_bias=False)(x)  # /4 (shape-agnostic)
    x = layers.Concatenate()([x, s4])
    x = cbr(x, 32, k=1)
    x = cbr(x, 32)
    out = layers.Conv2D(1, 1, name="plate_logits")(x)
    return keras.Model(inp, out, name="plate_localiser")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--scenes", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "localiser_int8.tflite")
    ap.add_argument("--init", type=Path, default=None, help="start from these Keras weights")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (cosine decay)")
    ap.add_argument("--tag", default="localiser", help="name of the saved weights under the work folder")
    args = ap.parse_args(argv)

    limit_threads()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    xs, ms = scene_cache(args.scenes, args.seed)
    print(f"scenes {len(xs)}, plate pixel share {float(ms.mean()):.3f}", flush=True)
    model = build_model()
    model.summary()
    if args.init:
        model.load_weights(args.init)
    sched = tf.keras.optimizers.schedules.CosineDecay(args.lr, args.steps, alpha=0.02)
    opt = tf.keras.optimizers.Adam(sched)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)[..., 0]
            bce = tf.nn.weighted_cross_entropy_with_logits(y, logits, pos_weight=3.0)
            p = tf.sigmoid(logits)
            inter = tf.reduce_sum(p * y, [1, 2])
            dice = 1 - (2 * inter + 1) / (tf.reduce_sum(p, [1, 2]) + tf.reduce_sum(y, [1, 2]) + 1)
            loss = tf.reduce_mean(bce) + 0.5 * tf.reduce_mean(dice)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    t0 = time.time()
    losses = []
    for it in range(1, args.steps + 1):
        idx = rng.integers(0, len(xs), args.batch)
        xb = xs[idx]
        if rng.random() < 0.5:
            xb = xb[:, :, ::-1]  # mirror the scene (plates stay in the mask; text mirrored is fine)
            yb = ms[idx][:, :, ::-1]
        else:
            yb = ms[idx]
        losses.append(float(step(tf.constant(xb, tf.float32), tf.constant(yb.astype(np.float32)))))
        if it % 250 == 0:
            print(f"step {it} loss {np.mean(losses[-250:]):.4f} {time.time() - t0:.0f}s", flush=True)
    model.save_weights(WORK / f"{args.tag}.weights.h5")

    def gen():
        for i in rng.integers(0, len(xs), 200):
            yield [xs[i : i + 1].astype(np.float32)]

    # export through a SavedModel so the input keeps dynamic height/width: the runtime uses
    # 160x160 for vehicle crops and resizes the input for whole close-up frames
    sm = WORK / "localiser_savedmodel"
    model.export(str(sm), format="tf_saved_model", verbose=False)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(sm))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    args.out.write_bytes(data)
    print(f"exported {args.out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
