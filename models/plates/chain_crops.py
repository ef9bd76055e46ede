"""Recognizer training samples cut by the runtime's own chain (finder, corners, warp).

Why: the recognizer reads what :meth:`gateway.plates.reader.PlateReader.warped_read` hands it:
a plate warped flat from the *finder's* four corners, with the configured margins, two-row
plates laid out as one row, and (when the first read is unsure) the slightly different warps
of :mod:`gateway.plates.warp_vote`. :func:`models.plates.synth.plate_crop` only imitates that
geometry; the misses of session 5 (``miss_causes``: a dropped last character, provinces read
unsure) are where the imitation and the chain differ. Here a plate is pasted into a real
scene, the finder looks for it, and the crop is cut exactly as the reader cuts it.

Plates: synthetic (provinces uniform, every kind, :mod:`models.plates.synth`) and real
*training-side* crops (both sources, :func:`models.plates.train_recognizer.real_training_crops`,
most with their province glyph repainted by :func:`models.plates.synth.swap_province`).
Scenes: the masked *training-side* toll-lane photos only, either over the photo's own plate
(a real car around it) or anywhere in the photo; ``../shared/media/images``, the validation
sets' backgrounds, is never used. Seeds must differ from the validation seeds (11, 13, 17,
31, 37) and from ``miss_causes``' development seed 131.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.plates.common import WORK

IN_W, IN_H = 96, 32
MAX_LEN = 8
#: share of real crops whose province glyph is repainted (the rest keep their own real glyph)
REPAINT = 0.7
#: seeds that validation or diagnosis use: a chain cache must never be made with one of them
RESERVED_SEEDS = frozenset({11, 13, 17, 31, 37, 131})


@dataclass
class Host:
    """A training-side toll-lane photo (overlay masked) and the finder's corners of its plate."""

    image: np.ndarray  # BGR
    corners: np.ndarray  # 4x2, lt rt rb lb


def training_hosts(finder) -> list[Host]:
    """Every training-side toll-lane photo whose own plate the finder locates."""
    from models.plates import real_scenes

    hosts = []
    for label in real_scenes.split()[0]:
        img = real_scenes.load_masked(label)
        x, _, w, _ = label.box
        found = [p for p in finder.find(img) if x <= p.corners[:, 0].mean() <= x + w and not p.double_row]
        if found:
            hosts.append(Host(img, found[0].corners.astype(np.float32)))
    return hosts


def paste_plate(host: Host, plate_bgr: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``plate_bgr`` warped into a copy of the host photo, scaled; ``(scene, corners)``.

    Half over the photo's own plate (covering it: its corners jittered and widened a little),
    half at a random place, size 40-220 px wide, tilted."""
    import cv2

    from models.plates.evaluate_scenes import plate_quad

    img = host.image
    H, W = img.shape[:2]
    ph, pw = plate_bgr.shape[:2]
    if rng.random() < 0.5:
        c = host.corners
        centre = c.mean(axis=0)
        # cover the real plate entirely: 8-15 % larger, then jittered by ~2 % of the width
        dst = centre + (c - centre) * float(rng.uniform(1.08, 1.15))
        dst = dst + rng.normal(0, 0.02 * np.linalg.norm(c[1] - c[0]), dst.shape)
        if ph > pw * 0.4:  # a two-row plate (2:1) on a one-row plate's place: taller, same width
            v = (c[3] - c[0] + c[2] - c[1]) / 2
            dst[:2] -= v * 1.2
        dst = dst.astype(np.float32)
    else:
        width = float(rng.uniform(60, 300))
        height = width * ph / pw
        cx = float(rng.uniform(width / 2 + 4, W - width / 2 - 4)) if width + 8 < W else W / 2
        cy = float(rng.uniform(height / 2 + 4, H - height / 2 - 4)) if height + 8 < H else H / 2
        dst = plate_quad(width, height, rng, (cx, cy), tilt=20, yaw=0.15)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    out = img.copy()
    flags = cv2.INTER_AREA if np.linalg.norm(dst[1] - dst[0]) < pw else cv2.INTER_LINEAR
    warped = cv2.warpPerspective(plate_bgr, m, (W, H), flags=flags)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (W, H), flags=cv2.INTER_NEAREST)
    out[mask > 0] = warped[mask > 0]
    # the whole scene smaller: plates from ~25 to ~300 px wide reach the finder
    scale = float(rng.uniform(0.3, 1.0))
    if scale < 0.98:
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        dst = dst * scale
    return out, dst


def chain_crop(reader, scene: np.ndarray, corners: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The crop the reader would read for the plate at ``corners`` (RGB ``IN_H x IN_W``), or None
    when the finder does not find it. A third of the crops come from one of the vote's warps."""
    import cv2

    from gateway.plates.finder import merge_rows, rectify
    from gateway.plates.reader import DOUBLE_ROW_ASPECT
    from gateway.plates.warp_vote import WARPS, perturb

    fc = reader.config.finder
    quad = corners.reshape(-1, 1, 2).astype(np.float32)
    true_w = float(np.linalg.norm(corners[1] - corners[0]))
    for p in reader.finder.find(scene)[: fc.max_candidates]:
        cx, cy = p.corners.mean(axis=0)
        if cv2.pointPolygonTest(quad, (float(cx), float(cy)), False) < 0:
            continue
        if not 0.6 * true_w <= p.width <= 1.6 * true_w or p.width < 16 or p.height < 6:
            continue
        size = (max(16, round(p.width)), max(6, round(p.height)))
        two_rows = p.double_row or p.width / p.height < DOUBLE_ROW_ASPECT
        c = p.corners
        if rng.random() < 1 / 3:
            c = perturb(c, WARPS[int(rng.integers(len(WARPS)))])
        flat = rectify(scene, c, size, (fc.margin_x, fc.margin_y))
        if two_rows:
            flat = merge_rows(flat)
        interp = cv2.INTER_AREA if flat.shape[1] > IN_W else cv2.INTER_LINEAR
        return cv2.cvtColor(cv2.resize(flat, (IN_W, IN_H), interpolation=interp), cv2.COLOR_BGR2RGB)
    return None


def chain_cache(
    n: int, seed: int, real_share: float = 0.3, repaint: float = REPAINT, flat: bool = False,
    fonts: str = "base",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` chain-cut samples (images, padded labels, lengths), cached on disk.

    ``repaint``: the share of real crops whose province glyph is repainted; ``flat``: real crops
    drawn with province-flattening weights instead of uniformly (uniformly, 皖's real glyphs
    are three quarters of the real crops that keep their own glyph); ``fonts``: the renderer's
    font set for synthetic plates and repainted glyphs (:data:`models.plates.synth.FONT_SETS`)."""
    if seed in RESERVED_SEEDS:
        raise ValueError(f"seed {seed} is a validation or diagnosis seed")
    # the defaults keep the names (and so the caches) made before these options
    variant = ((f"_r{repaint:g}" if repaint != REPAINT else "") + ("_flat" if flat else "")
               + ("" if fonts == "base" else f"_{fonts}"))
    path = WORK / f"rec_chain_{n}_{seed}_{real_share:g}{variant}.npz"
    if path.exists():
        d = np.load(path)
        return d["x"], d["y"], d["n"]
    import cv2

    from gateway.plates.charset import encode
    from gateway.plates.config import PlatesConfig, RecognizerConfig
    from gateway.plates.reader import PlateReader
    from models.plates.synth import PlateRenderer, photometric, swap_province
    from models.plates.train_recognizer import province_weights, real_training_crops

    rng = np.random.default_rng(seed)
    # only the finder and the crop geometry are used here: no reader model is asked
    reader = PlateReader(
        PlatesConfig(recognizer=RecognizerConfig(second_reader=False, province_reader=False))
    )
    hosts = training_hosts(reader.finder)
    real_imgs, real_texts, _, _ = real_training_crops()
    real_p = province_weights(real_texts, 1.0) if flat else None
    renderer = PlateRenderer(fonts)
    x = np.empty((n, IN_H, IN_W, 3), np.uint8)
    y = np.zeros((n, MAX_LEN), np.int32)
    ln = np.zeros((n,), np.int32)
    i = tries = 0
    t0 = time.time()
    while i < n:
        tries += 1
        if rng.random() < real_share:
            # uniform draws keep rng.integers, so the caches made before `flat` come out the same
            k = int(rng.choice(len(real_imgs), p=real_p)) if flat else int(rng.integers(len(real_imgs)))
            img, text = real_imgs[k], real_texts[k]
            if rng.random() < repaint:
                img, text = swap_province(img, text, rng, renderer)
            plate = cv2.cvtColor(photometric(img, rng, strength=0.3), cv2.COLOR_RGB2BGR)
        else:
            p = renderer.random_plate(rng)
            text = p.text
            plate = cv2.cvtColor(photometric(p.image, rng, strength=0.5), cv2.COLOR_RGB2BGR)
        scene, corners = paste_plate(hosts[int(rng.integers(len(hosts)))], plate, rng)
        crop = chain_crop(reader, scene, corners, rng)
        if crop is None:
            continue
        lab = encode(text)
        x[i], y[i, : len(lab)], ln[i] = crop, lab, len(lab)
        i += 1
        if i % 2000 == 0:
            print(f"chain {i}/{n} ({tries} pasted) {time.time() - t0:.0f}s", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y, n=ln)
    print(f"chain cache {path}: {n} found of {tries} pasted", flush=True)
    return x, y, ln


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--real-share", type=float, default=0.3)
    args = ap.parse_args(argv)
    chain_cache(args.n, args.seed, args.real_share)


if __name__ == "__main__":
    main()
