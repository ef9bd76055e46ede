"""The whole `plates read` chain on real toll-lane photos under simple degradations: a probe.

    python -m models.plates.conditions [--side train|validation] [CONDITION ...]

Each condition is applied to every masked photo of one side of ``real_scenes_hyperlpr`` (the
training side by default: probing is how the chain's weak spots are found, so it must not use the
held-out photos), the photo is read as ``edgepost plates read`` reads a still
(:func:`gateway.plates.imagefile.read_still` with the finer searches, the grey frame and the
turns), and the first read is compared with the label. One line per condition: photos, exact,
wrong. Session 16 found its haze, colour-cast and side-view cliffs with it (models/plates/
MODEL_CARD.md, "Where it stands").

The conditions are deliberately simple and deterministic (seeded per photo), not a model of any
camera: they say where the chain breaks, not how often a site sees it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.plates import real_scenes
from models.plates.evaluate_scenes import haze, side_view

Box = tuple[int, int, int, int]


def _clip(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0, 255).astype(np.uint8)


def _in_box(img: np.ndarray, box: Box, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``img`` with ``f`` applied (in float) to the labelled plate box only."""
    x, y, w, h = box
    out = img.astype(np.float32)
    out[y : y + h, x : x + w] = f(out[y : y + h, x : x + w])
    return _clip(out)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigma)


def _motion(img: np.ndarray, k: int) -> np.ndarray:
    import cv2

    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k
    return cv2.filter2D(img, -1, kernel)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR) if ok else img


def _glare(img: np.ndarray, box: Box) -> np.ndarray:
    """A headlight's glare: a bright Gaussian spot just right of the plate."""
    x, y, w, h = box
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    spot = np.exp(-((xx - (x + 1.1 * w)) ** 2 + (yy - (y + 0.5 * h)) ** 2) / (2 * (1.2 * h) ** 2))
    return _clip(img.astype(np.float32) + 255.0 * spot[..., None])


def _shadow(a: np.ndarray, share: float) -> np.ndarray:
    """The left ``share`` of a region at 35 % brightness, with a hard edge."""
    out = a.copy()
    out[:, : int(a.shape[1] * share)] *= 0.35
    return out


def _soft_shadow(a: np.ndarray) -> np.ndarray:
    ramp = np.clip((np.arange(a.shape[1]) - a.shape[1] * 0.42) / (a.shape[1] * 0.16), 0, 1)
    return a * (0.35 + 0.65 * ramp)[None, :, None]


def _bar(a: np.ndarray) -> np.ndarray:
    """A dark bar from 55 to 75 % of the region's height (a tow bar, a bike rack)."""
    out = a.copy()
    out[int(a.shape[0] * 0.55) : int(a.shape[0] * 0.75)] *= 0.1
    return out


#: name -> (photo, its plate box, a generator seeded for this photo) -> degraded photo
CONDITIONS: dict[str, Callable[[np.ndarray, Box, np.random.Generator], np.ndarray]] = {
    "none": lambda im, box, rng: im,
    "blur": lambda im, box, rng: _blur(im, 1.5),
    "motion": lambda im, box, rng: _motion(im, 9),
    "dark_noisy": lambda im, box, rng: _clip(im * 0.3 + rng.normal(0, 6, im.shape)),
    "night": lambda im, box, rng: _clip((im / 255.0) ** 2.2 * 90 + rng.normal(0, 4, im.shape)),
    "jpeg15": lambda im, box, rng: _jpeg(im, 15),
    "gamma05": lambda im, box, rng: _clip(255 * (im / 255.0) ** 0.5),
    "overexposed": lambda im, box, rng: _clip(im * 1.8 + 40),
    "haze05": lambda im, box, rng: haze(im, 0.5),
    "haze035": lambda im, box, rng: haze(im, 0.35),
    "cool_cast": lambda im, box, rng: _clip(im * np.array([1.2, 0.95, 0.7])),
    "warm_cast": lambda im, box, rng: _clip(im * np.array([0.45, 0.8, 1.1])),
    "side06": lambda im, box, rng: side_view(im, 0.6),
    "side07": lambda im, box, rng: side_view(im, 0.7),
    "shadow_half": lambda im, box, rng: _in_box(im, box, lambda a: _shadow(a, 0.5)),
    "shadow_quarter": lambda im, box, rng: _in_box(im, box, lambda a: _shadow(a, 0.25)),
    "shadow_soft": lambda im, box, rng: _in_box(im, box, _soft_shadow),
    "tow_bar": lambda im, box, rng: _in_box(im, box, _bar),
    "glare": lambda im, box, rng: _glare(im, box),
}


def degrade(name: str, img: np.ndarray, box: Box, seed: int = 0) -> np.ndarray:
    """``img`` (BGR ``uint8``) under condition ``name``, ``box`` (x, y, w, h) its plate."""
    return CONDITIONS[name](img, box, np.random.default_rng(seed))


def probe(names: list[str], side: int = 0, recognizer: Path | None = None,
          even_shadows: bool | None = None,
          lift_glare: bool | None = None) -> dict[str, tuple[int, int, int]]:
    """Per condition: (photos, exact, wrong) through the `plates read` chain (``recognizer``:
    another recognizer file than the committed one; ``even_shadows``, ``lift_glare``: those
    ``recognizer`` settings, None for the config's default)."""
    from gateway.cli.plates_cmd import FINER_FRAME_SIZES, STILL_REFIND_BELOW_WIDTH, TURN_DEGREES
    from gateway.plates.config import FinderConfig, PlatesConfig, RecognizerConfig
    from gateway.plates.imagefile import finer_readers, read_still
    from gateway.plates.reader import PlateReader

    shadows = {} if even_shadows is None else {"even_shadows": even_shadows}
    if lift_glare is not None:
        shadows["lift_glare"] = lift_glare
    config = PlatesConfig(finder=FinderConfig(refind_below_width=STILL_REFIND_BELOW_WIDTH),
                          recognizer=RecognizerConfig(model_path=recognizer, **shadows))
    reader = PlateReader(config)
    finer = finer_readers(config)

    labels = real_scenes.split()[side]
    out = {}
    for name in names:
        exact = wrong = 0
        for i, label in enumerate(labels):
            img = degrade(name, real_scenes.load_masked(label), label.box, seed=i)
            reads, _ = read_still(reader, img, finer=finer, finer_sizes=FINER_FRAME_SIZES, framed=True,
                                  turn_degrees=TURN_DEGREES)
            got = reads[0].text if reads else ""
            exact += got == label.text
            wrong += bool(got) and got != label.text
        out[name] = (len(labels), exact, wrong)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("conditions", nargs="*", metavar="CONDITION",
                    help=f"any of {', '.join(CONDITIONS)} (default: all)")
    ap.add_argument("--side", choices=["train", "validation"], default="train",
                    help="which side's photos (default train: probing chooses things)")
    ap.add_argument("--recognizer", type=Path, default=None, metavar="PATH",
                    help="another recognizer .tflite than the committed one (a candidate)")
    ap.add_argument("--even-shadows", choices=["on", "off"], default=None,
                    help="recognizer.even_shadows (default: the config's)")
    ap.add_argument("--lift-glare", choices=["on", "off"], default=None,
                    help="recognizer.lift_glare (default: the config's)")
    args = ap.parse_args(argv)
    if args.recognizer is not None and not args.recognizer.is_file():
        ap.error(f"--recognizer {args.recognizer}: no such file")
    unknown = [c for c in args.conditions if c not in CONDITIONS]
    if unknown:
        ap.error(f"unknown condition {', '.join(unknown)}; known: {', '.join(CONDITIONS)}")
    names = args.conditions or list(CONDITIONS)
    shadows = None if args.even_shadows is None else args.even_shadows == "on"
    glare = None if args.lift_glare is None else args.lift_glare == "on"
    for name, (n, exact, wrong) in probe(names, 0 if args.side == "train" else 1, args.recognizer,
                                         shadows, glare).items():
        print(f"{name:15} photos {n:4}  exact {exact:4}  wrong {wrong:3}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
