"""Train the province reader: a small classifier of a plate's first character, int8 TFLite.

Usage (training venv with ``.[train]``; about 55 minutes on two threads of an AMD EPYC at the
defaults, caches apart: ``EDGEPOST_TRAIN_THREADS=2``)::

    nice -n 10 python -m models.plates.train_province [--steps N] [--width W] [--chain-seeds 51,52,53,54]

The defaults (``--width 2 --steps 6000``, four chain caches) make the shipped reader (session
26); session 15's was the same on two chain caches (``--chain-seeds 51,52``), session 11's
``--width 1 --steps 5000`` on two.

Why a classifier beside the CTC recognizer: two thirds of the province-set misses are the
province glyph (``miss_causes``: read wrong, or rejected below the minimum confidence), on
small plates above all. The recognizer spends one shared network on eight positions and ~70
classes; this one looks only at the left half of the same 96x32 input and answers only "which of
31 provinces". The runtime multiplies its opinion into the recognizer's first character
(:mod:`gateway.plates.province`), as the second reader does for whole reads.

Data (every source on the training side; validation plates and seeds are never read):

* crops cut by the runtime chain (:mod:`models.plates.chain_crops`, caches of fresh seeds):
  synthetic plates (provinces uniform) and real training-side crops, most repainted;
* synthetic crops (:func:`models.plates.synth.plate_crop`, provinces uniform);
* real training-side crops (:func:`models.plates.train_recognizer.real_training_crops`, the
  calibration sixth held out), augmented; 70 % with the province repainted
  (:func:`models.plates.synth.swap_province`), the rest drawn with province-flattening weights
  so that 皖 and 浙 carry no prior.

A tenth of each batch is greyed (infrared and black-and-white cameras). Monitoring: the chain
cache of development seed 43 and the calibration crops; nothing is selected on validation.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from models.plates.chain_crops import REPAINT
from models.plates.common import MODELS_DIR, WORK, limit_threads, scene_background_pool

IN_W, IN_H = 96, 32
#: the classifier sees the left CROP_W columns of the recognizer's input (the province glyph
#: sits at about 8-22 px of 96 on a single-row plate, and on the merged top row of a two-row one)
CROP_W = 48


def province_labels(texts: list[str]) -> np.ndarray:
    """Index into ``PROVINCES`` of each text's first character, -1 where it is none."""
    from gateway.plates.charset import PROVINCES

    return np.array([PROVINCES.index(t[0]) if t and t[0] in PROVINCES else -1 for t in texts], np.int32)


def _codes_to_text(y: np.ndarray, n: np.ndarray) -> list[str]:
    from gateway.plates.charset import decode

    return [decode(list(y[i, : n[i]])) for i in range(len(y))]


def build_model(batch_norm: bool = True, width: float = 1.0):
    """32x96 RGB (the recognizer's input) -> 31 province logits, from the left ``CROP_W`` columns.

    ``width`` scales every layer's channels (1.0: the network of session 11)."""
    import keras
    from keras import layers

    from gateway.plates.charset import PROVINCES

    def cbr(x, f):
        x = layers.Conv2D(f, 3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inp = keras.Input((IN_H, IN_W, 3), name="image")
    x = layers.Cropping2D(((0, 0), (0, IN_W - CROP_W)))(inp)  # 32x48
    x = layers.Rescaling(1.0 / 255.0)(x)
    x = cbr(x, round(32 * width))
    x = layers.MaxPooling2D(2)(x)  # 16x24
    x = cbr(x, round(64 * width))
    x = layers.MaxPooling2D(2)(x)  # 8x12
    x = cbr(x, round(96 * width))
    x = cbr(x, round(96 * width))
    x = layers.MaxPooling2D(2)(x)  # 4x6
    x = cbr(x, round(128 * width))
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(len(PROVINCES), name="province")(x)
    return keras.Model(inp, out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=71)
    ap.add_argument("--chain", type=int, default=20000)
    ap.add_argument("--chain-seeds", default="51,52,53,54")
    ap.add_argument("--synth", type=int, default=30000)
    ap.add_argument("--chain-frac", type=float, default=0.5)
    ap.add_argument("--real-frac", type=float, default=0.25)
    ap.add_argument("--grey-frac", type=float, default=0.1)
    ap.add_argument("--repaint", type=float, default=REPAINT,
                    help="share of real crops whose province glyph is repainted (the rest keep a real glyph)")
    ap.add_argument("--chain-repaint", type=float, default=REPAINT,
                    help="share of the chain caches' real crops whose province glyph is repainted")
    ap.add_argument("--chain-flat", action="store_true",
                    help="chain caches whose real crops are drawn with province-flattening weights")
    ap.add_argument("--repaint-always", default="",
                    help="provinces whose real glyphs are always repainted, never seen (a leave-out "
                         "diagnostic: how the reader takes a real glyph it only knows synthetic)")
    ap.add_argument("--fonts", choices=["base", "more"], default="base",
                    help="CJK font set of synthetic plates and repainted glyphs (synth.FONT_SETS)")
    ap.add_argument("--vary-glyphs", action="store_true",
                    help="synthetic and repainted province glyphs drawn with varied strokes "
                         "(synth.vary_glyph; a leave-out diagnostic of session 35, not the shipped recipe)")
    ap.add_argument("--width", type=float, default=2.0, help="channel multiplier (1: session 11)")
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "province_int8.tflite")
    ap.add_argument("--tag", default="province", help="name of the saved weights under the work folder")
    args = ap.parse_args(argv)

    limit_threads()
    import cv2
    import tensorflow as tf

    from models.plates.chain_crops import chain_cache
    from models.plates.synth import PlateRenderer, augment_real, swap_province
    from models.plates.train_recognizer import (
        export_int8,
        province_weights,
        real_training_crops,
        synth_cache,
        to_grey,
    )

    tf.keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    renderer = PlateRenderer(args.fonts, vary_glyphs=args.vary_glyphs)
    pool = scene_background_pool()

    def labelled(x, y, n):
        lab = province_labels(_codes_to_text(y, n))
        keep = lab >= 0
        return x[keep], lab[keep]

    if args.chain_frac > 0:
        parts = [chain_cache(args.chain, int(s), repaint=args.chain_repaint, flat=args.chain_flat,
                             fonts=args.fonts)
                 for s in args.chain_seeds.split(",")]
        xc, lc = labelled(*(np.concatenate([p[k] for p in parts]) for k in range(3)))
    else:  # no chain crops (the chain caches hold real glyphs that --repaint-always can't reach)
        xc, lc = np.empty((0, IN_H, IN_W, 3), np.uint8), np.empty(0, np.int32)
    xs, ls = labelled(*synth_cache(args.synth, args.seed, args.fonts, args.vary_glyphs))
    real_imgs, real_texts, calib_imgs, calib_texts = real_training_crops()
    real_p = province_weights(real_texts, 1.0)
    dev_x, dev_l = labelled(*chain_cache(1500, 43))
    calib_x = np.stack([cv2.resize(i, (IN_W, IN_H), interpolation=cv2.INTER_AREA) for i in calib_imgs])
    calib_l = province_labels(calib_texts)
    print(f"chain {len(xc)}  synth {len(xs)}  real {len(real_imgs)}  dev {len(dev_x)}  calib {len(calib_x)}",
          flush=True)

    model = build_model(width=args.width)
    sched = tf.keras.optimizers.schedules.CosineDecay(args.lr, args.steps, alpha=0.02)
    opt = tf.keras.optimizers.Adam(sched)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    def accuracy(m, x, lab) -> float:
        return float((m.predict(x, verbose=0, batch_size=256).argmax(-1) == lab).mean())

    n_chain = int(args.batch * args.chain_frac)
    n_real = int(args.batch * args.real_frac)
    n_syn = args.batch - n_chain - n_real
    t0 = time.time()
    losses: list[float] = []
    for it in range(1, args.steps + 1):
        ci = rng.integers(0, len(xc), n_chain)
        si = rng.integers(0, len(xs), n_syn)
        real_b, real_l = [], []
        while len(real_b) < n_real:
            i = int(rng.choice(len(real_imgs), p=real_p))
            im, text = real_imgs[i], real_texts[i]
            if rng.random() < args.repaint or text[0] in args.repaint_always:
                swapped, text = swap_province(im, text, rng, renderer)
                if swapped is im and text[0] in args.repaint_always:
                    continue  # no glyph blob found: the real glyph would be seen after all
                im = swapped
            lab = province_labels([text])[0]
            if lab < 0:
                continue
            real_b.append(augment_real(im, rng, (IN_W, IN_H), pool))
            real_l.append(lab)
        xb = np.concatenate([xc[ci], xs[si], np.stack(real_b)])
        yb = np.concatenate([lc[ci], ls[si], np.array(real_l, np.int32)])
        xb = to_grey(xb, rng.random(len(xb)) < args.grey_frac)
        losses.append(float(step(tf.constant(xb, tf.float32), tf.constant(yb))))
        if it % 250 == 0:
            msg = f"step {it} loss {np.mean(losses[-250:]):.3f} {time.time() - t0:.0f}s"
            if it % 1000 == 0:  # monitoring only: nothing is selected on these numbers
                dev, calib = accuracy(model, dev_x, dev_l), accuracy(model, calib_x, calib_l)
                msg += f" dev {dev:.3f} calib {calib:.3f}"
            print(msg, flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    model.save_weights(WORK / f"{args.tag}.weights.h5")
    rep = np.concatenate([
        xc[rng.integers(0, len(xc), 300 if len(xc) else 0)],
        xs[rng.integers(0, len(xs), 200)],
        np.stack([cv2.resize(im, (IN_W, IN_H)) for im in real_imgs[:200]]),
    ])
    size = export_int8(model, rep, args.out)
    print(json.dumps({"out": str(args.out), "bytes": size,
                      "float_dev": accuracy(model, dev_x, dev_l),
                      "float_calib": accuracy(model, calib_x, calib_l)}), flush=True)


if __name__ == "__main__":
    main()
