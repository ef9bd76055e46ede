"""Train the plate corner refiner (``gateway/plates/corner_refiner.py``) and export it as float16 TFLite.

Usage (training venv; samples about 5 minutes on one core, training about 20 on two)::

    python -m models.plates.train_corners [--samples N] [--epochs N]
    python -m models.plates.train_corners --evaluate   # corner error before/after, validation side

A sample is a plate pasted with tilt and perspective into a real background, degraded (blur,
noise, JPEG, light), and a *candidate* quadrilateral for it: half the time the corners that the
chain's close look finds (the vehicle finder on a close cut around the plate, as
``PlateReader._found_again`` does), half the time the true corners moved at random by about as
much as the finder errs on small plates. The input is the refiner's cut around the candidate
(:func:`gateway.plates.corner_refiner.cut`); the target, where the true corners lie in it.

Plates: real *training-side* crops (dev_crops and the toll-lane photos, split by plate text)
and synthetic plates of every kind. Backgrounds: frames of the two videos in
``../shared/media/video`` and the training-side toll-lane photos' bands above and below the
plate (overlay masked). Nothing from the validation side is used; ``--evaluate`` measures on it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gateway.plates.corner_refiner import INPUT_SIZE, cut, to_input
from models.plates.common import (
    MEDIA_IMAGES,
    MODELS_DIR,
    WORK,
    cached_arrays,
    limit_threads,
    scene_background_pool,
)

VIDEOS = MEDIA_IMAGES.parent / "video"
#: plate widths drawn: two thirds small (where the finder's corners are coarse), a third larger
SMALL, LARGE = (22.0, 70.0), (70.0, 170.0)


def video_backgrounds(every: int = 12, max_side: int = 640) -> list[np.ndarray]:
    """Every ``every``-th frame of the shared videos (BGR, longest side ``max_side``)."""
    import cv2

    out: list[np.ndarray] = []
    for path in sorted(VIDEOS.glob("*.mp4")):
        cap = cv2.VideoCapture(str(path))
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % every == 0:
                s = max_side / max(frame.shape[:2])
                small = cv2.resize(frame, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else frame
                out.append(small)
            i += 1
        cap.release()
    return out


def real_plates(side: int) -> list[np.ndarray]:
    """Real crops of one side of the split (0 training, 1 validation), BGR."""
    from gateway.plates.finder import PlateFinder
    from models.plates.evaluate_scenes import crop_samples

    return [s.image for s in crop_samples(PlateFinder(), side)]


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, light, noise and JPEG, each at random."""
    import cv2

    out = img.astype(np.float32)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.4, 1.3)))
    out = out * float(rng.uniform(0.5, 1.3)) + float(rng.uniform(-30, 30))
    if rng.random() < 0.5:
        out += rng.normal(0, float(rng.uniform(1, 8)), out.shape).astype(np.float32)
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        if ok:
            out8 = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return out8


def jitter(quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """True corners moved about as far as the finder's are off on small plates."""
    w = float(np.linalg.norm(quad[1] - quad[0]))
    h = float(np.linalg.norm(quad[3] - quad[0]))
    shift = rng.normal(0, [0.04 * w, 0.08 * h])
    scale = float(rng.uniform(0.9, 1.12))
    centre = quad.mean(axis=0)
    out = (quad - centre) * scale + centre + shift
    return (out + rng.normal(0, [0.03 * w, 0.08 * h], (4, 2))).astype(np.float32)


def sample(
    rng: np.random.Generator, plate: np.ndarray, bgs: list[np.ndarray], finder
) -> tuple[np.ndarray, np.ndarray] | None:
    """One (input, target) pair, or None when the drawn candidate is degenerate."""
    import cv2

    from gateway.plates.reader import REFIND_MARGIN
    from models.plates.evaluate_scenes import plate_quad

    width = float(rng.uniform(*(SMALL if rng.random() < 0.67 else LARGE)))
    ph = width * plate.shape[0] / plate.shape[1]
    W = int(max(160, width * rng.uniform(2.5, 5)))
    H = int(max(96, W * 0.6))
    bg = bgs[int(rng.integers(len(bgs)))]
    s = min(bg.shape[0] / H, bg.shape[1] / W) * float(rng.uniform(0.3, 1.0))
    ch, cw = max(8, int(H * s)), max(8, int(W * s))
    y = int(rng.integers(0, bg.shape[0] - ch + 1))
    x = int(rng.integers(0, bg.shape[1] - cw + 1))
    img = cv2.resize(bg[y : y + ch, x : x + cw], (W, H), interpolation=cv2.INTER_AREA)
    centre = (float(rng.uniform(width / 2 + 4, W - width / 2 - 4)), float(rng.uniform(ph + 4, H - ph - 4)))
    true = plate_quad(width, ph, rng, centre, tilt=25.0, yaw=0.15)
    pw, ph_px = plate.shape[1], plate.shape[0]
    src = np.array([[0, 0], [pw, 0], [pw, ph_px], [0, ph_px]], np.float32)
    m = cv2.getPerspectiveTransform(src, true)
    flags = cv2.INTER_AREA if width < plate.shape[1] else cv2.INTER_LINEAR
    warped = cv2.warpPerspective(plate, m, (W, H), flags=flags)
    mask = cv2.warpPerspective(np.full(plate.shape[:2], 255, np.uint8), m, (W, H), flags=cv2.INTER_NEAREST)
    img[mask > 0] = warped[mask > 0]
    img = degrade(img, rng)
    cand = None
    if rng.random() < 0.5:
        x0, y0 = true.min(axis=0)
        x1, y1 = true.max(axis=0)
        mx, my = int((x1 - x0) * REFIND_MARGIN[0]), int((y1 - y0) * REFIND_MARGIN[1])
        cx0, cy0 = max(0, int(x0) - mx), max(0, int(y0) - my)
        close = img[cy0 : int(np.ceil(y1)) + my, cx0 : int(np.ceil(x1)) + mx]
        for q in finder.find(close)[:3]:
            offset = np.array([cx0, cy0], np.float32)
            qc = q.corners.mean(axis=0) + offset
            if x0 <= qc[0] <= x1 and y0 <= qc[1] <= y1:
                cand = q.corners + offset
                if rng.random() < 0.3:
                    cand = jitter(cand, rng)
                break
    if cand is None:
        cand = jitter(true, rng)
    if not cv2.isContourConvex(cand.reshape(-1, 1, 2).astype(np.float32)):
        return None
    patch, hm = cut(img, cand)
    return patch, to_input(true, hm)


def make_set(n: int, seed: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples from plates of ``side`` (cached in the work folder)."""
    d = cached_arrays(f"corner_set_{n}_{seed}_{side}.npz", lambda: _build_set(n, seed, side))
    return d["x"], d["y"]


def _build_set(n: int, seed: int, side: int) -> dict[str, np.ndarray]:
    from gateway.plates.finder import DEFAULT_VEHICLE_FINDER, PlateFinder
    from models.plates.synth import PlateRenderer

    rng = np.random.default_rng(seed)
    bgs = video_backgrounds()
    bgs += [np.ascontiguousarray(b[..., ::-1]) for b in scene_background_pool()]
    real = real_plates(side)
    renderer = PlateRenderer()
    finder = PlateFinder(DEFAULT_VEHICLE_FINDER)
    x = np.empty((n, INPUT_SIZE[1], INPUT_SIZE[0], 3), np.uint8)
    y = np.empty((n, 8), np.float32)
    i, t0 = 0, time.time()
    while i < n:
        if rng.random() < 0.5:
            plate = real[int(rng.integers(len(real)))]
        else:
            plate = np.ascontiguousarray(renderer.random_plate(rng).image[..., ::-1])
        got = sample(rng, plate, bgs, finder)
        if got is None:
            continue
        x[i], y[i] = got
        i += 1
        if i % 5000 == 0:
            print(f"sample {i}/{n} {time.time() - t0:.0f}s", flush=True)
    return {"x": x, "y": y}


def build_model():
    """Five strided conv stages to 3 x 8, then a dense head; the output starts where the
    candidate's corners lie (its bias) and learns corrections from there."""
    import keras
    from keras import layers

    from gateway.plates.corner_refiner import inner_quad

    def cbr(x, f, strides=1):
        x = layers.Conv2D(f, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inp = keras.Input((INPUT_SIZE[1], INPUT_SIZE[0], 3), name="image")
    x = layers.Rescaling(1.0 / 255.0)(inp)
    x = cbr(x, 16, 2)
    x = cbr(x, 32, 2)
    x = cbr(x, 32)
    x = cbr(x, 64, 2)
    x = cbr(x, 64)
    x = cbr(x, 96, 2)
    x = layers.Flatten()(x)
    # no plain ReLU here: at this learning rate all 128 units died in the first epoch and the
    # head then gave every plate the same corners
    x = layers.Dense(128)(x)
    x = layers.LeakyReLU(0.1)(x)
    base = (inner_quad() / np.array(INPUT_SIZE, np.float32)).reshape(8)
    out = layers.Dense(
        8, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(base), name="corners"
    )(x)
    return keras.Model(inp, out, name="corner_refiner")


def corner_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mean corner distance per sample in input pixels."""
    d = (y_true - y_pred).reshape(-1, 4, 2) * np.array(INPUT_SIZE, np.float32)
    return np.linalg.norm(d, axis=2).mean(axis=1)


def evaluate(model_path: Path, n: int) -> None:
    """Corner error of candidates and of refined corners on validation-side plates."""
    from gateway.inference import load_model
    from gateway.plates.corner_refiner import inner_quad

    x, y = make_set(n, 977, side=1)
    m = load_model(model_path)
    pred = np.stack([m.invoke(xi[None].astype(np.float32))[0].reshape(8) for xi in x])
    base = np.tile((inner_quad() / np.array(INPUT_SIZE, np.float32)).reshape(8), (len(x), 1))
    before, after = corner_error(y, base), corner_error(y, pred)
    print(f"validation-side samples {len(x)} (input px; the plate is 80 px wide there)")
    for name, e in (("candidate", before), ("refined", after)):
        print(f"  {name:9s} mean {e.mean():.2f} median {np.median(e):.2f} p90 {np.percentile(e, 90):.2f}")
    print(f"  refined closer on {(after < before).mean():.1%}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay)")
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "corner_refiner_f16.tflite")
    ap.add_argument("--evaluate", action="store_true", help="only measure --out on the validation side")
    ap.add_argument("--eval-samples", type=int, default=3000)
    args = ap.parse_args(argv)
    if args.evaluate:
        evaluate(args.out, args.eval_samples)
        return

    limit_threads()
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    x, y = make_set(args.samples, args.seed, side=0)
    model = build_model()
    model.summary()
    steps = args.epochs * (len(x) // args.batch)
    opt = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(args.lr, steps, alpha=0.02))
    # Huber on input pixels: a few wild candidates must not dominate
    scale = np.tile(np.array(INPUT_SIZE, np.float32), 4)
    model.compile(opt, loss=lambda t, p: tf.keras.losses.Huber(delta=2.0)(t * scale, p * scale))
    model.fit(x.astype(np.float32), y, batch_size=args.batch, epochs=args.epochs, verbose=2, shuffle=True)
    model.save_weights(WORK / "corner_refiner.weights.h5")
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    data = conv.convert()
    args.out.write_bytes(data)
    print(f"exported {args.out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
