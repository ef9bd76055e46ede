"""Plate reading judged on real validation data at two levels: crops and scenes.

    python -m models.plates.evaluate_scenes                 # all sets, a plain-text report
    python -m models.plates.evaluate_scenes --sets real     # one set; --json for machines
    python -m models.plates.evaluate_scenes --vote-warps 0 4  # warp vote off and on, interleaved
    python -m models.plates.evaluate_scenes --min-confidence 0.5 0.7  # two operating points
    python -m models.plates.evaluate_scenes --monochrome    # as an infrared camera sees them
    python -m models.plates.evaluate_scenes --rain          # with simulated rain (rain.py)
    python -m models.plates.evaluate_scenes --side train --sets provinces --condition tow_bar \
        --recognizer models/plates/recognizer_int8.tflite CANDIDATE.tflite  # two recognizers

Why: the gateway reads plates off real checkpoint frames; a figure on crops alone hid a 46 %
scene result. Every plate used here is on the validation side of a split **by plate text**
(``models/plates/split.py`` for dev_crops, ``models/plates/real_scenes.py`` for the toll-lane
photos), so nothing here was trained on, tuned on or used for calibration. Choices (crop
margins, fallbacks, thresholds) are made with ``--side train``, which runs the same sets
on the training-side plates (and the synthetic province and kind scenes at the development
seeds 131 and 137 instead of the validation seeds 31 and 37).

Sets:

* ``crops`` — real crops: the 121 validation dev crops (CCPD-like, 94x24) and the 100
  validation plates of real_scenes_hyperlpr, each cut by warping the finder's four corners
  on the masked photo (the box crop when the finder misses it); read by
  :meth:`PlateReader.read_plate_crop` (thresholds and format rules included).
* ``real`` — the 100 validation photos of real_scenes_hyperlpr with the red overlay masked,
  at full size (plates ~150-220 px wide) and halved (~75-110 px), through
  :meth:`PlateReader.read_frame`.
* ``vehicle`` — the same masked photos with a vehicle-like box around the plate (2.6-3.6
  plate widths across, jittered), through :meth:`PlateReader.read_vehicle` (the 160 px finder).
* ``swap`` — each real validation crop warped over the plate of a real *training-side*
  toll-lane photo (corners from the finder, overlay masked), the photo scaled 0.35-1.0:
  a real car and lane around a real plate never trained on (plates ~55-200 px wide).
* ``provinces`` / ``kinds`` — synthetic plates (every province x 200; every common plate
  kind, two-row included, x 100) on real photos, for what real data cannot cover.
* ``composite`` — each real validation crop warped (tilt up to 15°, perspective) onto a crop
  of a real photo of ``../shared/media/images`` (no Chinese plates there) in a 640x480 frame,
  40-220 px wide, through :meth:`PlateReader.read_frame`.

A scene counts as **exact** when the reader's best observation is the labelled text, as
**wrong** when its best observation is another text, else **none**.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.plates import real_scenes
from models.plates import split as dsplit

#: plate-width buckets of the report (px, left-closed)
WIDTH_BUCKETS = (0, 60, 80, 120, 160, 10_000)


@dataclass
class Sample:
    """One validation item: an image (crop or scene) with its plate text and facts."""

    set: str
    name: str
    image: np.ndarray
    text: str
    colour: str
    width: float
    #: the text as listed by the data set, where an audit corrected it (real_scenes.LABEL_CORRECTIONS)
    listed: str = ""
    #: where the plate is (4x2, lt rt rb lb), when the set made the scene itself (keyword
    #: only, so that a subclass's positional fields keep their places)
    corners: np.ndarray | None = field(default=None, kw_only=True)
    #: greyed as an infrared or black-and-white camera gives it (``--monochrome``)
    monochrome: bool = field(default=False, kw_only=True)


def _hyperlpr_crop(label: real_scenes.SceneLabel, finder) -> tuple[np.ndarray, float]:
    from gateway.plates.finder import rectify

    img = real_scenes.load_masked(label)
    x, y, w, h = label.box
    for p in finder.find(img):
        cx, cy = p.corners.mean(axis=0)
        if x <= cx <= x + w and y <= cy <= y + h and not p.double_row:
            size = (round(p.width), round(p.height))
            return rectify(img, p.corners, size), p.width
    return real_scenes.box_crop(img, label), float(w)


def crop_samples(finder, side: int = 1) -> Iterator[Sample]:
    """Real validation crops of both sources."""
    for fname, text in dsplit.split()[side]:
        img = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / fname)
        yield Sample("crops", f"dev/{fname}", img, text, "dev", float(img.shape[1]))
    for label in real_scenes.split()[side]:
        crop, width = _hyperlpr_crop(label, finder)
        yield Sample("crops", label.filename, crop, label.text, label.colour, width, label.listed)


def real_samples(scales: tuple[float, ...] = (1.0, 0.5), side: int = 1) -> Iterator[Sample]:
    """The masked validation photos, at each scale."""
    import cv2

    for label in real_scenes.split()[side]:
        img = real_scenes.load_masked(label)
        for s in scales:
            im = img if s == 1.0 else cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            # the drawn box is ~15 % wider than the plate: report the plate's width
            width = label.box[2] * 0.85 * s
            yield Sample(f"real@{s:g}", label.filename, im, label.text, label.colour, width, label.listed)


@dataclass
class VehicleSample(Sample):
    """A scene with a vehicle box around the plate (what a vehicle detector would hand over)."""

    vehicle_box: tuple[int, int, int, int] = (0, 0, 0, 0)


def vehicle_samples(side: int = 1, seed: int = 13) -> Iterator[Sample]:
    """The masked photos with a vehicle-like box around the plate, through ``read_vehicle``.

    The box spans 2.6-3.6 plate-box widths across and sits mostly above the plate, as a car
    front does (its position jitters so the plate is not always centred)."""
    rng = np.random.default_rng(seed)
    for label in real_scenes.split()[side]:
        img = real_scenes.load_masked(label)
        x, y, w, h = label.box
        cx, cy = x + w / 2, y + h / 2
        vw = w * rng.uniform(2.6, 3.6)
        vh = vw * rng.uniform(0.7, 0.9)
        x0 = cx - vw * rng.uniform(0.35, 0.65)
        y0 = cy - vh * rng.uniform(0.6, 0.8)
        H, W = img.shape[:2]
        box = (int(max(0, x0)), int(max(0, y0)), int(min(W, x0 + vw)), int(min(H, y0 + vh)))
        yield VehicleSample(
            "vehicle", label.filename, img, label.text, label.colour, w * 0.85, label.listed,
            vehicle_box=box,
        )


def _backgrounds() -> list[np.ndarray]:
    import cv2

    from models.plates.common import MEDIA_IMAGES

    out = []
    for p in sorted(MEDIA_IMAGES.iterdir()):
        if p.suffix.lower() in (".jpg", ".png", ".bmp"):
            im = cv2.imdecode(np.fromfile(str(p), np.uint8), cv2.IMREAD_COLOR)
            if im is not None and min(im.shape[:2]) >= 200:
                out.append(im)
    if not out:
        raise FileNotFoundError(
            f"no background photos in {MEDIA_IMAGES} (the shared data must sit at ../shared)"
        )
    return out


def plate_quad(
    width: float,
    height: float,
    rng: np.random.Generator,
    centre: tuple[float, float],
    tilt: float = 15.0,
    yaw: float = 0.12,
) -> np.ndarray:
    """A plate quadrilateral (lt rt rb lb) about ``centre``: tilted up to ``tilt`` degrees, one
    side up to ``yaw`` of the height taller than the other."""
    ang = np.deg2rad(float(rng.uniform(-tilt, tilt)))
    persp = float(rng.uniform(-yaw, yaw)) * height  # one side taller than the other (yaw)
    base = np.array(
        [
            [-width / 2, -height / 2 - persp],
            [width / 2, -height / 2 + persp],
            [width / 2, height / 2 - persp],
            [-width / 2, height / 2 + persp],
        ]
    )
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    return (base @ rot.T + centre).astype(np.float32)


def paste_with_corners(
    bg: np.ndarray, plate: np.ndarray, rng: np.random.Generator, size: tuple[int, int], width: float
) -> tuple[np.ndarray, np.ndarray]:
    """``plate`` warped (tilt, perspective) onto a random crop of ``bg`` resized to ``size`` (w, h),
    and where the plate's four corners landed (lt rt rb lb)."""
    import cv2

    W, H = size
    s = float(rng.uniform(0.5, 1.0))
    ch = int(min(bg.shape[0], bg.shape[1] * H / W) * s)
    cw = int(min(bg.shape[1], bg.shape[0] * W / H) * s)
    y = int(rng.integers(0, bg.shape[0] - ch + 1))
    x = int(rng.integers(0, bg.shape[1] - cw + 1))
    img = cv2.resize(bg[y : y + ch, x : x + cw], (W, H), interpolation=cv2.INTER_AREA)
    ph = width * plate.shape[0] / plate.shape[1]
    cx = float(rng.uniform(width / 2 + 4, W - width / 2 - 4))
    cy = float(rng.uniform(H * 0.3, H - ph / 2 - 4))
    dst = plate_quad(width, ph, rng, (cx, cy))
    src = np.array(
        [[0, 0], [plate.shape[1], 0], [plate.shape[1], plate.shape[0]], [0, plate.shape[0]]], np.float32
    )
    m = cv2.getPerspectiveTransform(src, dst)
    flags = cv2.INTER_AREA if width < plate.shape[1] else cv2.INTER_LINEAR
    warped = cv2.warpPerspective(plate, m, (W, H), flags=flags)
    mask = cv2.warpPerspective(np.full(plate.shape[:2], 255, np.uint8), m, (W, H), flags=cv2.INTER_NEAREST)
    img[mask > 0] = warped[mask > 0]
    return img, dst


def composite_samples(
    finder, seed: int = 11, size: tuple[int, int] = (640, 480), side: int = 1
) -> Iterator[Sample]:
    """Every real validation crop pasted once onto a real photo (deterministic)."""
    rng = np.random.default_rng(seed)
    bgs = _backgrounds()
    # lazily: the development crops come first, so a caller after one of them stops before the
    # finder has cut a single toll-lane crop (the draws do not depend on the finder)
    for c in crop_samples(finder, side):
        width = float(rng.uniform(40, 220))
        img, corners = paste_with_corners(bgs[int(rng.integers(len(bgs)))], c.image, rng, size, width)
        yield Sample("composite", c.name, img, c.text, c.colour, width, c.listed, corners=corners)


#: plate kinds of the province set and their shares (blue dominates real traffic)
PROVINCE_KINDS = (("blue", 0.6), ("yellow", 0.2), ("green", 0.2))


def province_samples(
    per_province: int = 200, seed: int = 31, size: tuple[int, int] = (640, 480), fonts: str = "base"
) -> Iterator[Sample]:
    """``per_province`` synthetic plates of every province, composited onto real photos.

    Real crops exist for few provinces (浙 and 苏 mostly); these measure the rest. The
    renderer's seed is used by no training run; plates are 70-200 px wide, tilted up to 15°.
    ``fonts`` names the CJK faces of the province glyph (:data:`models.plates.synth.FONT_SETS`);
    the face is drawn with the same random numbers whatever the set, so ``unseen`` gives the
    same scenes with the province character in faces no shipped model was trained on."""
    import cv2

    from gateway.plates.charset import PROVINCES
    from models.plates.synth import PlateRenderer, photometric, random_text

    rng = np.random.default_rng(seed)
    bgs = _backgrounds()
    renderer = PlateRenderer(fonts)
    kinds = [k for k, _ in PROVINCE_KINDS]
    shares = np.array([w for _, w in PROVINCE_KINDS])
    for prov in PROVINCES:
        for i in range(per_province):
            kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
            text = prov + random_text(kind, rng)[1:]
            plate = renderer.render(kind, text, rng)
            img = cv2.cvtColor(photometric(plate.image, rng, strength=0.5), cv2.COLOR_RGB2BGR)
            width = float(rng.uniform(70, 200))
            scene, corners = paste_with_corners(bgs[int(rng.integers(len(bgs)))], img, rng, size,
                                                width)
            yield Sample("provinces", f"{prov}{i}", scene, text, kind, width, corners=corners)


#: plate kinds of the kinds set (synth.py names): every common type, two-row included
KINDS = ("blue", "yellow", "green", "green_large", "double_yellow", "white_police", "yellow_special")


def kind_samples(per_kind: int = 100, seed: int = 37, size: tuple[int, int] = (640, 480)) -> Iterator[Sample]:
    """``per_kind`` synthetic plates of every common kind, composited onto real photos
    (provinces uniform, 90-200 px wide: two-row plates are 2:1, so that is 45-100 px tall)."""
    import cv2

    from models.plates.synth import PlateRenderer, photometric, random_text

    rng = np.random.default_rng(seed)
    bgs = _backgrounds()
    renderer = PlateRenderer()
    for kind in KINDS:
        for i in range(per_kind):
            text = random_text(kind, rng)
            plate = renderer.render(kind, text, rng)
            img = cv2.cvtColor(photometric(plate.image, rng, strength=0.5), cv2.COLOR_RGB2BGR)
            width = float(rng.uniform(90, 200))
            scene, corners = paste_with_corners(bgs[int(rng.integers(len(bgs)))], img, rng, size, width)
            yield Sample("kinds", f"{kind}{i}", scene, text, kind, width, corners=corners)


def swap_samples(finder, seed: int = 17, side: int = 1) -> Iterator[Sample]:
    """Every real crop of ``side`` warped over the plate of a real toll-lane photo of the *other*
    side (found by its corners; overlay masked), the photo then scaled by 0.35-1.0.

    The most realistic composite: a real car, lane and light around a real plate never trained
    on; the photo's own plate is covered entirely, and only the pasted text is the label."""
    import cv2

    rng = np.random.default_rng(seed)
    hosts = []
    for label in real_scenes.split()[1 - side]:
        img = real_scenes.load_masked(label)
        x, _, w, _ = label.box
        plates = [p for p in finder.find(img) if x <= p.corners[:, 0].mean() <= x + w and not p.double_row]
        if plates:
            hosts.append((img, plates[0].corners))
    for c in list(crop_samples(finder, side)):
        img, corners = hosts[int(rng.integers(len(hosts)))]
        ph, pw = c.image.shape[:2]
        src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
        m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
        out = img.copy()
        size = (img.shape[1], img.shape[0])
        warped = cv2.warpPerspective(c.image, m, size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, size, flags=cv2.INTER_NEAREST)
        out[mask > 0] = warped[mask > 0]
        scale = float(rng.uniform(0.35, 1.0))
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        width = float(np.linalg.norm(corners[1] - corners[0])) * scale
        yield Sample("swap", c.name, out, c.text, c.colour, width, c.listed, corners=corners * scale)


#: the level haze lifts every pixel towards (bright fog, glare)
HAZE_AIRLIGHT = 220


def haze(img: np.ndarray, contrast: float) -> np.ndarray:
    """``img`` at ``contrast`` (0..1) of its contrast, lifted towards :data:`HAZE_AIRLIGHT`."""
    out = img.astype(np.float32) * contrast + (1.0 - contrast) * HAZE_AIRLIGHT
    return np.clip(out, 0, 255).astype(np.uint8)


def side_view_matrix(w: int, h: int, squeeze: float) -> np.ndarray:
    """The perspective map of :func:`side_view` for a ``w`` x ``h`` image."""
    import cv2

    k = (1.0 - squeeze) * 0.375
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w * squeeze, h * k], [w * squeeze, h * (1 - k)], [0, h]])
    return cv2.getPerspectiveTransform(src, dst)


def side_view(img: np.ndarray, squeeze: float) -> np.ndarray:
    """``img`` squeezed to ``squeeze`` of its width towards the left, its right edge shortened by
    three quarters of what the width lost (a camera to the side of the lane), on black."""
    import cv2

    h, w = img.shape[:2]
    return cv2.warpPerspective(img, side_view_matrix(w, h, squeeze), (w, h))


def side_viewed(s: Sample, squeeze: float) -> Sample:
    """``s`` seen from the side (:func:`side_view`); a vehicle sample's box is mapped with it."""
    import cv2

    out = replace(s, image=side_view(s.image, squeeze))
    if isinstance(s, VehicleSample):
        h, w = s.image.shape[:2]
        x0, y0, x1, y1 = s.vehicle_box
        pts = np.float32([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]])
        q = cv2.perspectiveTransform(pts, side_view_matrix(w, h, squeeze))[0]
        out = replace(out, vehicle_box=(int(q[:, 0].min()), int(q[:, 1].min()),
                                        int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max()))))
    return out


def _bucket(width: float) -> str:
    for lo, hi in itertools.pairwise(WIDTH_BUCKETS):
        if lo <= width < hi:
            return f"{lo}-{hi - 1}px" if hi < 10_000 else f">={lo}px"
    return "?"


def evaluate(samples: Iterator[Sample], reader, finer=None, variants=()) -> dict[str, dict]:
    """Exact / wrong / none counts per set, overall and per colour, province and width; timings.

    ``finer``: ``finer(size)`` gives the readers of the finer searches for whole frames that
    the first reads nothing in (what ``edgepost plates read`` does on stills). ``variants``:
    ``(suffix, reader, finer)`` more readers, each sample read by all of them in turn
    (interleaved, so timings compare); their results are reported as the set's name plus the
    suffix."""
    res: dict[str, dict] = {}
    for s in samples:
        for suffix, rdr, fin in (("", reader, finer), *variants):
            _judge(res, s, s.set + suffix, rdr, fin)
    for r in res.values():
        ms = r.pop("ms")
        r["exact_pct"] = round(100 * r["exact"] / r["n"], 1) if r["n"] else 0.0
        r["ms_median"] = round(statistics.median(ms), 2) if ms else 0.0
        r["ms_p90"] = round(float(np.percentile(ms, 90)), 2) if ms else 0.0
        r["by"] = {k: f"{v[0]}/{v[1]}" for k, v in sorted(r["by"].items())}
        if "reliability" in r:
            r["reliability"] = reliability(r["reliability"])
        confusions = r.get("province_confusions", {})
        r["province_confusions"] = dict(sorted(confusions.items(), key=lambda kv: -kv[1]))
        r["read_confidence"] = {
            f"{lo:.2f}-{min(hi, 1):.2f}": f"{sum(ok for c, ok in r['accepted'] if lo <= c < hi)}/"
            f"{sum(lo <= c < hi for c, _ in r['accepted'])} exact"
            for lo, hi in itertools.pairwise(READ_BINS)
        }
        del r["accepted"]
    return res


def _judge(res: dict[str, dict], s: Sample, name: str, rdr, fin) -> None:
    """Read one sample with ``rdr`` (``fin`` for frames it reads nothing in) into ``res[name]``."""
    r = res.setdefault(
        name,
        {
            "n": 0,
            "exact": 0,
            "exact_listed": 0,
            "wrong": 0,
            "none": 0,
            "ms": [],
            "by": defaultdict(lambda: [0, 0]),
            "errors": [],
            "accepted": [],
        },
    )
    t = time.perf_counter()
    if s.set == "crops":
        obs = rdr.read_plate_crop(s.image, monochrome=s.monochrome)
        reads = [obs] if obs is not None else []
        raw = rdr.recognizer.read(s.image)  # before thresholds: for the reliability table
        if len(raw.text) == len(s.text):
            pairs = zip(raw.char_conf, raw.text, s.text, strict=True)
            r.setdefault("reliability", []).extend(
                (i == 0, c, a == b) for i, (c, a, b) in enumerate(pairs)
            )
    elif isinstance(s, VehicleSample):
        reads = rdr.read_vehicle(s.image, s.vehicle_box)
    else:
        if fin is not None:
            from gateway.cli.plates_cmd import FINER_FRAME_SIZES, TURN_DEGREES
            from gateway.plates.imagefile import read_still

            reads, _ = read_still(rdr, s.image, finer=fin, finer_sizes=FINER_FRAME_SIZES, framed=True,
                                  turn_degrees=TURN_DEGREES)
        else:
            reads = rdr.read_frame(s.image)
    r["ms"].append((time.perf_counter() - t) * 1000)
    got = reads[0].text if reads else ""
    ok = got == s.text
    r["n"] += 1
    r["exact"] += ok
    r["exact_listed"] += got == (s.listed or s.text)
    r["wrong"] += bool(got) and not ok
    r["none"] += not got
    if got:
        r["accepted"].append((reads[0].confidence, ok))
    for key in (f"colour {s.colour}", f"province {s.text[0]}", f"width {_bucket(s.width)}"):
        r["by"][key][0] += ok
        r["by"][key][1] += 1
    if not ok:
        r["errors"].append((s.name, s.text, got, round(s.width)))
    if got and got[0] != s.text[0]:
        r.setdefault("province_confusions", defaultdict(int))[f"{s.text[0]}>{got[0]}"] += 1


#: confidence bins of the reliability table
CONF_BINS = (0.0, 0.5, 0.7, 0.9, 0.97, 1.0001)
#: bins of the best read's confidence (its weakest character) in the scene report: how often an
#: accepted read is exact at each confidence (voted reads must keep that meaning)
READ_BINS = (0.0, 0.7, 0.9, 0.97, 1.0001)


def reliability(items: list[tuple[bool, float, bool]]) -> dict[str, dict[str, str]]:
    """Per position kind (first character / others) and confidence bin: correct / reads and mean
    confidence: a calibrated reader's accuracy in a bin matches its mean confidence."""
    out: dict[str, dict[str, str]] = {}
    for kind, first in (("first", True), ("other", False)):
        rows = [(c, ok) for f, c, ok in items if f == first]
        table = {}
        for lo, hi in itertools.pairwise(CONF_BINS):
            sel = [(c, ok) for c, ok in rows if lo <= c < hi]
            if sel:
                acc = sum(ok for _, ok in sel)
                table[f"{lo:.2f}-{min(hi, 1):.2f}"] = (
                    f"{acc}/{len(sel)} correct, mean conf {np.mean([c for c, _ in sel]):.3f}"
                )
        out[kind] = table
    return out


def conditioned(samples: Iterable[Sample], name: str) -> Iterator[Sample]:
    """The samples with a plate box (the sets that make their own scenes) under the chain
    probe's degradation ``name``, seeded per item; the others are left out."""
    from models.plates.conditions import CONDITIONS, degrade

    if name not in CONDITIONS:
        raise SystemExit(f"unknown condition {name}; known: {', '.join(CONDITIONS)}")
    for i, s in enumerate(samples):
        # composite, swap and kinds scenes carry corners too (for --widescreen); conditions stay
        # as they were measured, on the province scenes
        if s.corners is None or s.set != "provinces":
            continue
        x0, y0 = np.floor(s.corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(s.corners.max(axis=0)).astype(int)
        h, w = s.image.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        yield replace(s, image=degrade(name, s.image, (x0, y0, x1 - x0, y1 - y0), seed=i))


def widescreened(samples: Iterable[Sample]) -> Iterator[Sample]:
    """The samples with a plate box cut to 16:9 as a checkpoint camera frames it: the full width
    and a band 9/16 of it high, centred on the plate where the scene allows (the plate keeps its
    size in pixels); scenes already that wide are kept, the others are left out."""
    for s in samples:
        if s.corners is None:
            continue
        h, w = s.image.shape[:2]
        band = round(w * 9 / 16)
        if band >= h:
            yield s
            continue
        cy = float(s.corners[:, 1].mean())
        y0 = int(min(max(0, round(cy - band / 2)), h - band))
        yield replace(s, image=s.image[y0 : y0 + band], corners=s.corners - np.array([0, y0], np.float32))


def rolled(samples: Iterable[Sample], degrees: float) -> Iterator[Sample]:
    """Every scene turned by ``degrees`` about its centre onto a canvas that holds all of it
    (:func:`gateway.plates.rotated.turn`), its plate corners with it: a camera mounted rolled."""
    import cv2

    from gateway.plates.rotated import turn

    for s in samples:
        image, m = turn(s.image, degrees)
        corners = None if s.corners is None else cv2.transform(s.corners[None].astype(np.float64), m)[0]
        yield replace(s, image=image, corners=None if corners is None else corners.astype(np.float32))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return float(c - h), float(c + h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sets",
        nargs="+",
        default=["crops", "real", "vehicle", "swap", "composite"],
        choices=["crops", "real", "vehicle", "swap", "composite", "provinces", "kinds"],
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--per-province", type=int, default=200, help="synthetic composites per province")
    ap.add_argument("--province-fonts", choices=("base", "unseen"), default="base",
                    help="CJK faces of the provinces set's province character: base (the four the "
                    "models were trained on, as every figure before session 35) or unseen (four "
                    "faces no shipped model was trained on, standing in for real plates' own "
                    "typeface; needs fonts-noto-cjk-extra, fonts-wqy-microhei and "
                    "fonts-droid-fallback); the scenes are otherwise the same")
    ap.add_argument("--per-kind", type=int, default=100, help="synthetic composites per plate kind")
    ap.add_argument("--composite-seeds", type=int, nargs="+", default=[11], metavar="SEED",
                    help="placements of the composite set: each seed pastes every crop once, in "
                    "its own photos, places, sizes and tilts (default 11, the set's fixed draw, which "
                    "the model card's composite row reports; seeds given replace it, so add 11 to "
                    "keep it)")
    ap.add_argument("--kinds-only", nargs="+", choices=KINDS, default=None, metavar="KIND",
                    help="the kinds set keeps only these kinds (drawn as before, the rest skipped)")
    ap.add_argument("--kinds-seed", type=int, default=None,
                    help="renderer seed of the kinds set (default 37, or 137 with --side train); "
                    "more development draws, never 37")
    ap.add_argument("--errors", action="store_true", help="list every miss and wrong read")
    ap.add_argument("--no-finder", action="store_true", help="the older chain: localizer + classical only")
    ap.add_argument("--rain", action="store_true",
                    help="every image with simulated rain (models/plates/rain.py), seeded per item")
    ap.add_argument("--haze", type=float, default=None, metavar="A",
                    help="every image at A (0..1) of its contrast under bright haze: A x image + (1 - A) "
                    f"x {HAZE_AIRLIGHT} (fog, glare, a washed-out camera)")
    ap.add_argument("--side-view", type=float, default=None, metavar="S",
                    help="every image as a camera to the side of the lane sees it: squeezed to S (0..1) "
                    "of its width, its right edge shorter (S = 0.6 is about 50 degrees of yaw)")
    ap.add_argument("--monochrome", action="store_true",
                    help="every image greyed, as an infrared or black-and-white camera gives it")
    ap.add_argument("--finer-search", action="store_true",
                    help="frames read nothing at 320 px are searched again at 640, then 1280 (capped at "
                    "the frame's size), then framed in grey, then turned 30 degrees either way, "
                    "every found plate looked at again close up, as `plates read` does")
    ap.add_argument(
        "--recognizer", type=Path, nargs="+", default=None, metavar="PATH",
        help="recognizer .tflite (default: the committed one); several read every sample with each "
        "in turn, reported as '<set> rc=<file stem>' after the first",
    )
    ap.add_argument("--condition", default=None, metavar="NAME",
                    help="every scene with a plate box under this degradation of the chain probe "
                    "(models/plates/conditions.py: shadow_half, tow_bar, glare, ...); the sets that "
                    "make their own scenes (provinces, kinds) only")
    ap.add_argument("--vote-warps", type=int, nargs="+", default=None, metavar="N",
                    help="plates.finder.vote_warps (default: the config's); several values read "
                    "every sample with each in turn, reported as '<set> vw=N' after the first")
    ap.add_argument("--vote-below", type=float, default=None,
                    help="plates.finder.vote_below (default: the config's)")
    ap.add_argument("--min-confidence", type=float, nargs="+", default=None, metavar="P",
                    help="recognizer.min_char_confidence (default: the config's); several values "
                    "read every sample with each in turn, reported as '<set> mc=P' after the first")
    ap.add_argument("--lift-glare", choices=["on", "off"], nargs="+", default=None,
                    help="recognizer.lift_glare (default: the config's); both values read every "
                    "sample with each in turn, reported as '<set> lg=V' after the first")
    ap.add_argument("--even-shadows", choices=["on", "off"], nargs="+", default=None,
                    help="recognizer.even_shadows (default: the config's); both values read every "
                    "sample with each in turn, reported as '<set> es=V' after the first")
    ap.add_argument("--second-reader", choices=["on", "off"], nargs="+", default=None,
                    help="recognizer.second_reader (default: the config's); both values read every "
                    "sample with each in turn, reported as '<set> sr=V' after the first")
    ap.add_argument("--refind", choices=["on", "off"], nargs="+", default=None,
                    help="plates.finder.refind (default: the config's); both values read every "
                    "sample with each in turn, reported as '<set> rf=V' after the first")
    ap.add_argument("--widescreen", action="store_true",
                    help="every scene with a plate box cut to 16:9 around its plate (full width), "
                    "as a checkpoint camera frames it; the sets that make their own scenes only")
    ap.add_argument("--roll", type=float, default=None, metavar="DEG",
                    help="every scene turned by DEG degrees about its centre (counter-clockwise, onto a "
                    "canvas that holds all of it), as a camera mounted rolled sees it")
    ap.add_argument("--faint-score", type=float, nargs="+", default=None, metavar="S",
                    help="plates.finder.faint_score (default: the config's); several values read every "
                    "sample with each in turn, reported as '<set> fs=S' after the first")
    ap.add_argument("--plate-tilt", type=float, nargs="+", default=None, metavar="DEG",
                    help="plates.plate_tilt (default: the config's); several values read every sample "
                    "with each in turn, reported as '<set> pt=DEG' after the first")
    ap.add_argument("--wide-finders", choices=["on", "off"], nargs="+", default=None,
                    help="plates.finder.wide_model_paths: the shipped wide-frame finders, or none "
                    "(default: the config's); both values read every sample with each in turn, "
                    "reported as '<set> wf=V' after the first")
    ap.add_argument("--vehicle-wide-finders", choices=["on", "off"], nargs="+", default=None,
                    help="plates.finder.vehicle_wide_model_paths: the shipped wide-vehicle-box finder, "
                    "or none (default: the config's); both values read every sample with each in "
                    "turn, reported as '<set> vwf=V' after the first")
    ap.add_argument("--extends", choices=["on", "off"], nargs="+", default=None,
                    help="plates.localizer.retry_extends (default: the config's); both values read "
                    "every sample with each in turn, reported as '<set> ex=V' after the first")
    ap.add_argument("--unrefined", choices=["on", "off"], nargs="+", default=None,
                    help="read a refined localizer box that gave nothing as first located "
                         "(localizer.retry_unrefined)")
    ap.add_argument("--refind-below", type=float, nargs="+", default=None, metavar="PX",
                    help="found plates narrower than PX looked at again close up even when sure "
                         "(finder.refind_below_width)")
    ap.add_argument("--refine-corners-below", type=float, nargs="+", default=None, metavar="PX",
                    help="found plates narrower than PX have their corners refined by the corner "
                         "regressor (finder.refine_corners_below; 0 never)")
    ap.add_argument("--retry-min", type=float, default=None, metavar="P",
                    help="confidence a read from the corners found around a localizer box must "
                         "reach (localizer.retry_min_confidence)")
    ap.add_argument("--unrefined-min", type=float, default=None, metavar="P",
                    help="confidence a read of the boxes as first located must reach "
                         "(localizer.unrefined_min_confidence)")
    ap.add_argument("--province-sure-above", type=float, default=None, metavar="P",
                    help="reads whose province the recognizer gives at least this skip the province "
                         "reader (recognizer.province_sure_above; above 1: every read is weighed)")
    ap.add_argument("--retry-corners", choices=["on", "off"], nargs="+", default=None,
                    help="a localizer box that gave nothing looked for again by the vehicle finder "
                         "(localizer.retry_corners)")
    ap.add_argument("--province-reader", nargs="+", default=None, metavar="W",
                    help="recognizer.province_reader: 'off', or on at this province_weight (default: "
                    "the config's); several values read every sample with each in turn, reported as "
                    "'<set> pr=W' after the first")
    ap.add_argument("--province-model", type=Path, nargs="+", default=None, metavar="PATH",
                    help="recognizer.province_model_path (default: the committed reader); several "
                    "read every sample with each in turn, reported as '<set> pm=<file stem>' after "
                    "the first")
    ap.add_argument(
        "--side",
        choices=["validation", "train"],
        default="validation",
        help="'train' judges training-side plates instead: tuning without touching validation",
    )
    args = ap.parse_args(argv)
    side = 1 if args.side == "validation" else 0
    missing = [str(p) for p in args.recognizer or [] if not p.is_file()]
    if missing:
        ap.error(f"--recognizer: no such file: {', '.join(missing)}")
    if args.condition is not None:
        from models.plates.conditions import CONDITIONS

        if args.condition not in CONDITIONS:
            ap.error(f"unknown condition {args.condition}; known: {', '.join(CONDITIONS)}")

    from gateway.cli.plates_cmd import STILL_REFIND_BELOW_WIDTH
    from gateway.plates.config import FinderConfig, LocalizerConfig, PlatesConfig, RecognizerConfig
    from gateway.plates.finder import PlateFinder
    from gateway.plates.imagefile import finer_readers
    from gateway.plates.reader import PlateReader

    def readers(vote_warps: int | None, min_confidence: float | None, second: str | None = None,
                refind: str | None = None, province: str | None = None,
                province_model: Path | None = None, recognizer: Path | None = None,
                extends: str | None = None, unrefined: str | None = None,
                corners: str | None = None, refind_below: float | None = None,
                wide: str | None = None, tilt: float | None = None, faint: float | None = None,
                shadows: str | None = None, glare: str | None = None,
                vehicle_wide: str | None = None, refine_below: float | None = None) -> tuple:
        votes: dict = {} if vote_warps is None else {"vote_warps": vote_warps}
        if faint is not None:
            votes["faint_score"] = faint
        if wide is not None:
            votes["wide_model_paths"] = None if wide == "on" else []
        if vehicle_wide is not None:
            votes["vehicle_wide_model_paths"] = None if vehicle_wide == "on" else []
        if refind is not None:
            votes["refind"] = refind == "on"
        if refind_below is not None:
            votes["refind_below_width"] = refind_below
        if refine_below is not None:
            votes["refine_corners_below"] = refine_below
        elif args.finer_search:  # the `plates read` chain: stills look again at every plate
            votes["refind_below_width"] = STILL_REFIND_BELOW_WIDTH
        if args.vote_below is not None:
            votes["vote_below"] = args.vote_below
        minimum = {} if min_confidence is None else {"min_char_confidence": min_confidence}
        if second is not None:
            minimum["second_reader"] = second == "on"
        if shadows is not None:
            minimum["even_shadows"] = shadows == "on"
        if glare is not None:
            minimum["lift_glare"] = glare == "on"
        if province is not None:
            minimum["province_reader"] = province != "off"
            if province != "off":
                minimum["province_weight"] = float(province)
        if province_model is not None:
            minimum["province_model_path"] = province_model
        if args.province_sure_above is not None:
            minimum["province_sure_above"] = args.province_sure_above
        config = PlatesConfig(
            **({} if tilt is None else {"plate_tilt": tilt}),
            finder=FinderConfig(enabled=not args.no_finder, **votes),
            recognizer=RecognizerConfig(model_path=recognizer, **minimum),
            localizer=LocalizerConfig(
                **({} if extends is None else {"retry_extends": extends == "on"}),
                **({} if unrefined is None else {"retry_unrefined": unrefined == "on"}),
                **({} if corners is None else {"retry_corners": corners == "on"}),
                **({} if args.retry_min is None else {"retry_min_confidence": args.retry_min}),
                **({} if args.unrefined_min is None else {"unrefined_min_confidence": args.unrefined_min}),
            ),
        )
        return PlateReader(config), finer_readers(config) if args.finer_search else None

    # the first value of each option is the main reader; every other combination is a variant
    warps, minima = args.vote_warps or [None], args.min_confidence or [None]
    seconds, refinds = args.second_reader or [None], args.refind or [None]
    provinces, models = args.province_reader or [None], args.province_model or [None]
    recognizers, extends = args.recognizer or [None], args.extends or [None]
    unrefineds, cornereds = args.unrefined or [None], args.retry_corners or [None]
    smalls, wides = args.refind_below or [None], args.wide_finders or [None]
    tilts, faints = args.plate_tilt or [None], args.faint_score or [None]
    shadowss, glares = args.even_shadows or [None], args.lift_glare or [None]
    vehicle_wides = args.vehicle_wide_finders or [None]
    refines = args.refine_corners_below or [None]
    first = (warps[0], minima[0], seconds[0], refinds[0], provinces[0], models[0], recognizers[0],
             extends[0], unrefineds[0], cornereds[0], smalls[0], wides[0], tilts[0], faints[0], shadowss[0],
             glares[0], vehicle_wides[0], refines[0])
    reader, finer = readers(*first)
    variants = [
        ("".join([f" vw={n}" if n != warps[0] else "", f" mc={m}" if m != minima[0] else "",
                  f" sr={o}" if o != seconds[0] else "", f" rf={g}" if g != refinds[0] else "",
                  f" pr={q}" if q != provinces[0] else "",
                  f" pm={pm.stem}" if pm != models[0] and pm is not None else "",
                  f" rc={rc.stem}" if rc != recognizers[0] and rc is not None else "",
                  f" ex={e}" if e != extends[0] else "",
                  f" ur={u}" if u != unrefineds[0] else "",
                  f" rco={k}" if k != cornereds[0] else "",
                  f" rb={b}" if b != smalls[0] else "",
                  f" wf={wf}" if wf != wides[0] else "",
                  f" pt={pt:g}" if pt != tilts[0] and pt is not None else "",
                  f" fs={fs:g}" if fs != faints[0] and fs is not None else "",
                  f" es={es}" if es != shadowss[0] else "",
                  f" lg={lg}" if lg != glares[0] else "",
                  f" vwf={vw}" if vw != vehicle_wides[0] else "",
                  f" rcb={cb:g}" if cb != refines[0] and cb is not None else ""]),
         *readers(n, m, o, g, q, pm, rc, e, u, k, b, wf, pt, fs, es, lg, vw, cb))
        for n, m, o, g, q, pm, rc, e, u, k, b, wf, pt, fs, es, lg, vw, cb in itertools.product(
            warps, minima, seconds, refinds, provinces, models, recognizers, extends, unrefineds,
            cornereds, smalls, wides, tilts, faints, shadowss, glares, vehicle_wides, refines)
        if (n, m, o, g, q, pm, rc, e, u, k, b, wf, pt, fs, es, lg, vw, cb) != first
    ]
    finder = PlateFinder()

    def gen() -> Iterator[Sample]:
        if "crops" in args.sets:
            yield from crop_samples(finder, side)
        if "real" in args.sets:
            yield from real_samples(side=side)
        if "vehicle" in args.sets:
            yield from vehicle_samples(side)
        if "swap" in args.sets:
            yield from swap_samples(finder, side=side)
        if "composite" in args.sets:
            for seed in args.composite_seeds:
                yield from composite_samples(finder, seed=seed, side=side)
        if "provinces" in args.sets:
            yield from province_samples(args.per_province, seed=31 if side else 131,
                                        fonts=args.province_fonts)
        if "kinds" in args.sets:
            seed = args.kinds_seed if args.kinds_seed is not None else 37 if side else 137
            yield from (k for k in kind_samples(args.per_kind, seed=seed)
                        if args.kinds_only is None or k.colour in args.kinds_only)

    def greyed(samples: Iterator[Sample]) -> Iterator[Sample]:
        import cv2

        for s in samples:
            grey = cv2.cvtColor(cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            yield replace(s, image=grey, monochrome=True)

    def rained(samples: Iterator[Sample]) -> Iterator[Sample]:
        from models.plates.rain import rainy

        for i, s in enumerate(samples):
            yield replace(s, image=rainy(s.image, seed=1000 + i))

    samples = gen()
    if args.rain:
        samples = rained(samples)
    if args.haze is not None:
        samples = (replace(s, image=haze(s.image, args.haze)) for s in samples)
    if args.side_view is not None:
        samples = (side_viewed(s, args.side_view) for s in samples)
    if args.monochrome:
        samples = greyed(samples)
    if args.condition is not None:
        samples = conditioned(samples, args.condition)
    if args.widescreen:
        samples = widescreened(samples)
    if args.roll is not None:
        samples = rolled(samples, args.roll)
    res = evaluate(samples, reader, finer, variants)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return 0
    for name, r in res.items():
        lo, hi = wilson(r["exact"], r["n"])
        print(
            f"{name:10} n={r['n']:4}  exact {r['exact_pct']:5.1f} % (95 % CI {100 * lo:.1f}-{100 * hi:.1f})"
            f"  wrong {r['wrong']:3}  none {r['none']:3}  median {r['ms_median']} ms  p90 {r['ms_p90']} ms"
        )
        if r["exact_listed"] != r["exact"]:
            print(f"           against the listed (unaudited) labels: {r['exact_listed']}/{r['n']} exact")
        print("           " + "  ".join(f"{k}: {v}" for k, v in r["by"].items()))
        for kind, table in r.get("reliability", {}).items():
            print(
                f"           reliability ({kind} character): "
                + "; ".join(f"{k}: {v}" for k, v in table.items())
            )
        print("           accepted reads by confidence: "
              + "  ".join(f"{k}: {v}" for k, v in r["read_confidence"].items()))
        if r["province_confusions"]:
            pairs = "  ".join(f"{k} {v}" for k, v in r["province_confusions"].items())
            print(f"           province confusions: {pairs}")
        if args.errors:
            for e in r["errors"]:
                print(f"           miss {e[0]}: {e[1]} read {e[2] or '-'} ({e[3]} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
