"""Plate models benchmark: median latency on one core, model sizes, accuracy table.

    .venv/bin/python bench/bench_plates.py            # print the markdown report
    .venv/bin/python bench/bench_plates.py --write    # also write bench/results/plates.md

Latency is measured with the TFLite interpreter at ``num_threads=1`` after warm-up;
"invoke" is the interpreter call alone, "full" adds resize/colour conversion/quantization
and decoding as the gateway runs it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.plates.charset import PROVINCES  # noqa: E402
from gateway.plates.config import FinderConfig, PlatesConfig, RecognizerConfig  # noqa: E402
from gateway.plates.finder import (  # noqa: E402
    DEFAULT_FINDER,
    DEFAULT_VEHICLE_FINDER,
    DEFAULT_VEHICLE_WIDE_FINDERS,
    DEFAULT_WIDE_FINDERS,
)
from gateway.plates.localizer import DEFAULT_LOCALIZER, ClassicalLocalizer, PlateLocalizer  # noqa: E402
from gateway.plates.province import DEFAULT_PROVINCE_READER, ProvinceReader  # noqa: E402
from gateway.plates.recognizer import DEFAULT_RECOGNIZER, PlateRecognizer  # noqa: E402
from gateway.plates.second_opinion import DEFAULT_SECOND_READER  # noqa: E402
from models.plates import split as dsplit  # noqa: E402
from models.plates.evaluate import composite_scenes, evaluate_localiser, evaluate_recognizer  # noqa: E402


def _median_ms(fn, n: int) -> float:
    for _ in range(min(20, n)):
        fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000.0


def media_jobs() -> tuple[int, list[tuple[str, np.ndarray, tuple[int, int, int, int] | None]]]:
    """COCO SSD vehicles of ../shared/media/images (no readable mainland plate in them): one job
    per vehicle box, and one per whole photo (box None). Returns (images, jobs)."""
    import csv

    import cv2

    from gateway.inference import load_model

    media = REPO.parent / "shared" / "media" / "images"
    ssd_dir = REPO.parent / "shared" / "models" / "coco_ssd_mobilenet_v1"
    interp = load_model(ssd_dir / "detect.tflite", 1).interpreter
    labels = (ssd_dir / "labelmap.txt").read_text(encoding="utf-8").splitlines()
    inp = interp.get_input_details()[0]
    with open(media / "MANIFEST.csv", encoding="utf-8", newline="") as fh:
        files = [r["file"] for r in csv.DictReader(fh)]
    jobs: list[tuple[str, np.ndarray, tuple[int, int, int, int] | None]] = []
    for f in files:
        img = cv2.imdecode(np.fromfile(str(media / f), np.uint8), cv2.IMREAD_COLOR)
        x = cv2.cvtColor(cv2.resize(img, (300, 300)), cv2.COLOR_BGR2RGB)[None]
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        out = interp.get_output_details()
        boxes, classes, scores, count = (interp.get_tensor(o["index"]) for o in out[:4])
        h, w = img.shape[:2]
        for i in range(int(count[0])):
            if (
                labels[int(classes[0, i]) + 1] in ("car", "truck", "bus", "motorcycle")
                and scores[0, i] >= 0.4
            ):
                y0, x0, y1, x1 = boxes[0, i]
                jobs.append((f, img, (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))))
        jobs.append((f, img, None))
    return len(files), jobs


def media_chain() -> tuple[int, int, int, list[str]]:
    """COCO SSD vehicles -> plate reader on ../shared/media/images.

    Returns (images, vehicles, plates read, reads)."""
    from gateway.plates.reader import PlateReader

    reader = PlateReader()
    n_img, jobs = media_jobs()
    reads: list[str] = []
    for f, img, box in jobs:
        if box is None:
            reads += [f"{f} (frame): {o.text}" for o in reader.read_frame(img)]
        else:
            reads += [f"{f}: {o.text}" for o in reader.read_vehicle(img, box)]
    return n_img, sum(box is not None for _, _, box in jobs), len(reads), reads


def _interleaved(sets: dict[str, list], sides: dict[str, Callable], repeats: int) -> dict:
    """Mean ms per call of each side (``side(image, box)`` -> reads) over each set's jobs
    ``(name, image, box or None)``, interleaved job by job; per set and side the median, min and
    max of ``repeats`` means, and the reads made in one repeat."""
    out: dict = {}
    for name, jobs in sets.items():
        means: dict[str, list[float]] = {side: [] for side in sides}
        reads = dict.fromkeys(sides, 0)
        for _ in range(repeats):
            ms: dict[str, list[float]] = {side: [] for side in sides}
            for _, img, box in jobs:
                for side, call in sides.items():
                    t = time.perf_counter()
                    got = call(img, box)
                    ms[side].append((time.perf_counter() - t) * 1000)
                    reads[side] += len(got)
            for side in ms:
                means[side].append(statistics.mean(ms[side]))
        out[name] = {"jobs": len(jobs)}
        for side, v in means.items():
            out[name][side] = (statistics.median(v), min(v), max(v), reads[side] // repeats)
    return out


def _look(reader) -> Callable:
    """``reader``'s call for a job: ``read_vehicle`` with a box, ``read_frame`` without."""
    return lambda img, box: reader.read_vehicle(img, box) if box is not None else reader.read_frame(img)


def setting_cost(off: PlatesConfig, repeats: int = 3) -> dict:
    """What a setting costs: mean ms per call as shipped ("on") and with the configuration ``off``
    ("off"), interleaved job by job, on the plate-free media jobs (where every candidate is unsure
    or faint, the worst case), on the 13 checkpoint frames and on the 520x390 box about each of
    their plates (:func:`vehicle_boxes`, through ``read_vehicle``). Per side: the median, min and
    max of ``repeats`` means, and the reads made."""
    from gateway.plates.reader import PlateReader

    on, off_reader = PlateReader(), PlateReader(off)
    _, media = media_jobs()
    frames = checkpoint_frames()
    boxes = vehicle_boxes(on, frames)
    sets = {"plate-free": media, "checkpoint": [("", f, None) for f in frames],
            "checkpoint vehicle boxes": [("", f, b) for f, b in zip(frames, boxes, strict=True)]}
    return _interleaved(sets, {"on": _look(on), "off": _look(off_reader)}, repeats)


def on_off_rows(cost: dict) -> list[str]:
    """Markdown table rows of :func:`setting_cost`'s result: per set, its calls, the on and off
    means (median / min / max) and the reads on / off."""
    def ms(v: tuple) -> str:
        return " / ".join(f"{x:.2f}" for x in v[:3]) + " ms"

    return [f"| {k} | {v['jobs']} | {ms(v['on'])} | {ms(v['off'])} | {v['on'][3]} / {v['off'][3]} |"
            for k, v in cost.items()]


def checkpoint_frames() -> list[np.ndarray]:
    """1280x720 frames: the 13 full 1600x1200 toll-lane photos of real_scenes_hyperlpr, overlay
    masked, cut to 16:9 around the plate and scaled to 1280x720 (plates ~170 px wide)."""
    import cv2

    from models.plates import real_scenes

    frames = []
    for label in real_scenes.read_labels():
        img = real_scenes.load_masked(label)
        if img.shape[:2] != (1200, 1600):
            continue
        y = min(max(0, label.box[1] + label.box[3] // 2 - 450), 1200 - 900)
        frames.append(cv2.resize(img[y : y + 900], (1280, 720), interpolation=cv2.INTER_AREA))
    return frames


class Y5fuPeer:
    """The open peer's plate detector as its users run it: y5fu_320x_sim.onnx through ONNX Runtime
    (one thread), letterbox pre-processing and the same decode + NMS (bench-only extra)."""

    def __init__(self) -> None:
        import onnxruntime as ort

        from gateway.assets.manifest import load_manifest

        asset = load_manifest().get("hyperlpr3_y5fu_320")
        path = REPO.parent / "shared" / asset.path  # the offline mirror of the manifest
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.name = self.sess.get_inputs()[0].name

    def detect(self, frame: np.ndarray) -> list:
        from gateway.plates.finder import decode

        x, scale, left, top = peer_letterbox(frame, 320)
        rows = self.sess.run(None, {self.name: x})[0][0]
        # its padding is centred: back to the top-left frame the shared decode expects
        rows[:, [0, 5, 7, 9, 11]] -= left
        rows[:, [1, 6, 8, 10, 12]] -= top
        return decode(rows, scale)


def peer_letterbox(frame: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """The peer's own pre-processing, as HyperLPR3's ``letter_box`` does it: OpenCV's default
    (bilinear) resize to ``int(side * r)``, the frame centred in black, RGB, NCHW float 0..1.
    Until session 33 the bench gave the peer edgepost's letterbox (area averaging, several
    times slower on a 1280x720 frame), which flattered edgepost's ratio.

    Returns the input tensor, the scale and the left and top padding (model pixels)."""
    import cv2

    h, w = frame.shape[:2]
    r = min(size / h, size / w)
    nh, nw = int(h * r), int(w * r)
    top, left = (size - nh) // 2, (size - nw) // 2
    small = cv2.resize(frame, (nw, nh))
    boxed = cv2.copyMakeBorder(small, top, size - nh - top, left, size - nw - left, cv2.BORDER_CONSTANT,
                               value=(0, 0, 0))
    x = boxed[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
    return x, r, left, top


#: the roll of the tilted-camera side of :func:`frame_side_by_side` (degrees)
TILT = 30.0


def rolled(frame: np.ndarray, degrees: float) -> np.ndarray:
    """``frame`` as a camera rolled by ``degrees`` sees it: turned about its centre, same size."""
    import cv2

    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0), (w, h))


def frame_side_by_side(n: int) -> dict:
    """Peer detector alone vs edgepost find + read on the same 1280x720 frames, interleaved; and
    edgepost with its square finder alone (``finder.wide_model_paths = []``), as before session 31;
    and a camera rolled by :data:`TILT` degrees read with ``plates.plate_tilt`` set to it."""
    from gateway.plates.reader import PlateReader

    frames = checkpoint_frames()
    tilted_frames = [rolled(f, TILT) for f in frames]
    peer = Y5fuPeer()
    reader = PlateReader(PlatesConfig(finder=FinderConfig(enabled=True)))
    square = PlateReader(PlatesConfig(finder=FinderConfig(enabled=True, wide_model_paths=[])))
    tilted = PlateReader(PlatesConfig(finder=FinderConfig(enabled=True), plate_tilt=TILT))
    for f, g in zip(frames[:3], tilted_frames[:3], strict=True):  # warm-up
        peer.detect(f)
        reader.read_frame(f)
        square.read_frame(f)
        tilted.read_frame(g)
    ms: dict[str, list[float]] = {"peer": [], "ours": [], "square": [], "tilted": []}
    reads = tilted_reads = 0
    for k in range(n):
        f, g = frames[k % len(frames)], tilted_frames[k % len(frames)]
        t = time.perf_counter()
        peer.detect(f)
        ms["peer"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        obs = reader.read_frame(f)
        ms["ours"].append((time.perf_counter() - t) * 1000)
        reads += bool(obs)
        t = time.perf_counter()
        square.read_frame(f)
        ms["square"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        tilted_reads += bool(tilted.read_frame(g))
        ms["tilted"].append((time.perf_counter() - t) * 1000)
    return {
        "frames": len(frames),
        "runs": n,
        "runtime": reader.recognizer.model.runtime,
        **{k: (statistics.median(v), min(v), max(v)) for k, v in ms.items()},
        "read_share": reads / n,
        "tilted_read_share": tilted_reads / n,
    }


def tilted_vehicle_side(n: int) -> dict:
    """``read_vehicle`` on a 520x390 box about each checkpoint frame's plate: the level frames as
    shipped, against the frames rolled :data:`TILT` degrees (the box about the plate where it
    moved) read with ``plates.plate_tilt`` set to it; interleaved."""
    import cv2

    from gateway.plates.reader import PlateReader

    frames = checkpoint_frames()
    level, tilted = PlateReader(), PlateReader(PlatesConfig(plate_tilt=TILT))
    jobs: dict[str, list[tuple[np.ndarray, tuple[int, int, int, int]]]] = {"level": [], "tilted": []}
    for f in frames:
        h, w = f.shape[:2]
        centre = level.finder.find(f)[0].corners.mean(axis=0)
        turned = cv2.getRotationMatrix2D((w / 2, h / 2), TILT, 1.0) @ np.append(centre, 1.0)
        for name, image, (cx, cy) in (("level", f, centre), ("tilted", rolled(f, TILT), turned)):
            x0, y0 = int(max(0, cx - 260)), int(max(0, cy - 300))
            jobs[name].append((image, (x0, y0, min(w, x0 + 520), min(h, y0 + 390))))
    readers = {"level": level, "tilted": tilted}
    ms: dict[str, list[float]] = {"level": [], "tilted": []}
    reads = dict.fromkeys(ms, 0)
    for k in range(n + 3):
        for name, reader in readers.items():
            image, box = jobs[name][k % len(frames)]
            t = time.perf_counter()
            got = reader.read_vehicle(image, box)
            if k >= 3:  # the first three are warm-up
                ms[name].append((time.perf_counter() - t) * 1000)
                reads[name] += bool(got)
    return {name: (statistics.median(v), min(v), max(v), reads[name] / n) for name, v in ms.items()}


def vehicle_boxes(reader, frames: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
    """A 520x390 box about each frame's plate (where the finder puts it), as a vehicle detector
    would hand over: the box ``read_vehicle`` is timed on."""
    boxes = []
    for f in frames:
        cx, cy = reader.finder.find(f)[0].corners.mean(axis=0)
        x0, y0 = int(max(0, cx - 260)), int(max(0, cy - 300))
        boxes.append((x0, y0, min(f.shape[1], x0 + 520), min(f.shape[0], y0 + 390)))
    return boxes


def halving_cost(repeats: int = 3) -> dict:
    """What the letterbox's halving (``gateway.plates.finder.HALVE_FROM``) saves: mean ms per call
    with it as shipped ("on") and off (never halving but at even whole multiples, as before
    session 37), interleaved call by call, on ``read_vehicle`` with the 520x390 boxes and on the
    plate-free media jobs. Per side: the median, min and max of ``repeats`` means, and the reads."""
    import gateway.plates.finder as fm
    from gateway.plates.reader import PlateReader

    reader = PlateReader()
    frames = checkpoint_frames()
    _, media = media_jobs()
    sets = {"checkpoint vehicle boxes": [("", f, b) for f, b in zip(frames, vehicle_boxes(reader, frames),
                                                                   strict=True)],
            "plate-free": media}
    shipped = fm.HALVE_FROM
    look = _look(reader)

    def halving(halve_from: float) -> Callable:
        def call(img: np.ndarray, box: tuple[int, int, int, int] | None) -> list:
            fm.HALVE_FROM = halve_from
            return look(img, box)
        return call

    try:
        return _interleaved(sets, {"on": halving(shipped), "off": halving(float("inf"))}, repeats)
    finally:
        fm.HALVE_FROM = shipped


def _stage_medians(reader, crop, frames, boxes, n: int) -> tuple[float, ...]:
    i = iter(range(10**9))
    # `read` as configured: the province reader is called unless the recognizer is sure of the
    # province (recognizer.province_sure_above); then with it called on every read
    rec_ms = _median_ms(lambda: reader.recognizer.read(crop), n)
    province = reader.recognizer.province
    sure_above, province.sure_above = province.sure_above, 1.01
    try:
        weighed_ms = _median_ms(lambda: reader.recognizer.read(crop), n)
    finally:
        province.sure_above = sure_above
    x = reader.recognizer.preprocess(crop)
    province_ms = _median_ms(lambda: reader.recognizer.province.probabilities(x), n)
    # paid only by reads that are rejected or under recognizer.second_below
    second_ms = _median_ms(lambda: reader.second.distributions(crop), n)

    def vehicle() -> None:
        j = next(i) % len(frames)
        reader.read_vehicle(frames[j], boxes[j])

    veh_ms = _median_ms(vehicle, max(30, n // 5))
    frame_ms = _median_ms(lambda: reader.read_frame(frames[next(i) % len(frames)]), max(30, n // 5))
    return rec_ms, second_ms, veh_ms, frame_ms, province_ms, weighed_ms


def sure_provinces(
    crops: list[np.ndarray], recognizer: PlateRecognizer, province: ProvinceReader
) -> tuple[int, int, float]:
    """Of ``crops`` read with a province by ``recognizer`` (the CTC model alone), how many
    ``province`` (the configured reader's) is sure of, so that their reads skip it; how many were
    read with a province; and the threshold."""
    reads = [r for r in map(recognizer.read, crops) if r.text[:1] in PROVINCES]
    return sum(map(province.is_sure, reads)), len(reads), province.sure_above


def runtime_figures(n: int) -> list[tuple]:
    """Per installed runtime: recognizer ``read`` on a real crop, ``read_vehicle`` on a vehicle
    box (~520x390 around the plate) and ``read_frame`` on a 1280x720 frame (medians, ms)."""
    from gateway.inference import tflite as seam
    from gateway.plates.reader import PlateReader

    frames = checkpoint_frames()
    _, val = dsplit.split()
    crop = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / val[0][0])
    order = seam.RUNTIMES
    rows = []
    try:
        for _, package in order[:2]:
            try:
                seam.find_runtime(package)
            except seam.RuntimeMissingError:
                continue
            # bench-only: put this runtime first so every model of the reader loads on it
            seam.RUNTIMES = tuple(sorted(order, key=lambda r, p=package: r[1] != p))
            reader = PlateReader(PlatesConfig(finder=FinderConfig(enabled=True)))
            if reader.recognizer.model.runtime != package:
                continue
            boxes = vehicle_boxes(reader, frames)
            rows.append((package, *_stage_medians(reader, crop, frames, boxes, n)))
    finally:
        seam.RUNTIMES = order
    return rows


def run(n: int) -> str:
    # the machine's load as the run starts: these hosts are shared, and a loaded host slows the
    # int8 models more than the peer's float detector (bench/RESULTS.md, sessions 20-21)
    load = os.getloadavg()[0]
    rec = PlateRecognizer(num_threads=1)
    loc = PlateLocalizer(num_threads=1)
    cls = ClassicalLocalizer()
    _, val = dsplit.split()
    crops = [dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / f) for f, _ in val]
    scenes = [s[0] for s in composite_scenes(20)]

    x = rec.preprocess(crops[0])
    from gateway.inference import quantize

    xq = quantize(x, rec.model.input)

    def rec_invoke() -> None:
        rec.model.invoke(xq)

    i = iter(range(10**9))
    rec_invoke_ms = _median_ms(rec_invoke, n)
    rec_full_ms = _median_ms(lambda: rec.read(crops[next(i) % len(crops)]), n)
    loc_full_ms = _median_ms(lambda: loc.locate(scenes[next(i) % len(scenes)], 160), n)
    # invoke-only at 160x160 (the model input for a vehicle crop)
    loc._run(np.zeros((1, 160, 160, 3), np.float32))
    xin = quantize(np.zeros((1, 160, 160, 3), np.float32), loc.model.input)

    def loc_invoke() -> None:
        loc.model.invoke(xin)

    loc_invoke_ms = _median_ms(loc_invoke, n)
    frame = np.ascontiguousarray(np.tile(scenes[0], (3, 3, 1))[:720, :1280])
    loc_frame_ms = _median_ms(lambda: loc.locate(frame, 320), max(20, n // 5))
    cls_ms = _median_ms(lambda: cls.locate(scenes[next(i) % len(scenes)]), n)
    from gateway.plates.reader import PlateReader

    reader = PlateReader()
    full_box = (0, 0, scenes[0].shape[1], scenes[0].shape[0])
    stage_ms = _median_ms(
        lambda: reader.read_vehicle(scenes[next(i) % len(scenes)], full_box), max(50, n // 3)
    )

    side = frame_side_by_side(max(60, n // 3))
    vehicle_tilt = tilted_vehicle_side(max(60, n // 3))
    per_runtime = runtime_figures(n)
    sure = sure_provinces(crops, rec, reader.recognizer.province)
    refind = setting_cost(PlatesConfig(finder=FinderConfig(refind=False)))
    faint = setting_cost(PlatesConfig(finder=FinderConfig(faint_score=0.0)))
    shadows = setting_cost(PlatesConfig(recognizer=RecognizerConfig(even_shadows=False)))
    halving = halving_cost()
    vehicle_wide = setting_cost(PlatesConfig(finder=FinderConfig(vehicle_wide_model_paths=[])))
    n_img, n_veh, n_reads, reads = media_chain()
    acc = evaluate_recognizer()
    locacc = evaluate_localiser(100)
    rs, ls = DEFAULT_RECOGNIZER.stat().st_size, DEFAULT_LOCALIZER.stat().st_size
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Plate models benchmark",
        "",
        f"- date: {now}",
        f"- machine: {cpu_name()}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, load average {load:.2f} as the run began",
        "- command: `.venv/bin/python bench/bench_plates.py --write`",
        f"- runtime: TFLite interpreter from `{rec.model.runtime}`, num_threads=1, "
        f"{n} timed runs after warm-up",
        "",
        "## Speed (median, one core)",
        "",
        "| stage | input | invoke only | full call |",
        "|---|---|---|---|",
        f"| recognizer (int8 CTC) | 96x32 plate crop | {rec_invoke_ms:.3f} ms "
        f"| {rec_full_ms:.3f} ms (`read`) |",
        f"| localiser (int8 seg.) | vehicle crop -> 160 px | {loc_invoke_ms:.3f} ms "
        f"| {loc_full_ms:.3f} ms (`locate`) |",
        f"| localiser (int8 seg.) | 1280x720 frame -> 320 px | - | {loc_frame_ms:.3f} ms (`locate`) |",
        f"| classical fallback | vehicle crop 260x200 | - | {cls_ms:.3f} ms |",
        f"| whole plate stage per vehicle (`PlateReader.read_vehicle`: locate, refine, read, rules) "
        f"| composite scene 260x200 | - | {stage_ms:.3f} ms |",
        "",
        "## Whole frame, side by side in one run (1280x720, median / min / max, one core)",
        "",
        f"{side['frames']} real toll-lane frames (masked overlay), {side['runs']} runs interleaved; "
        f"edgepost on `{side['runtime']}`, the peer on ONNX Runtime.",
        "",
        "| chain | median | min | max |",
        "|---|---|---|---|",
        "| peer: y5fu 320 detector alone (ONNX Runtime; its own bilinear letterbox + run + decode) | "
        + " | ".join(f"{v:.2f} ms" for v in side["peer"])
        + " |",
        "| edgepost: `PlateReader.read_frame` (find + warp + read + rules) | "
        + " | ".join(f"{v:.2f} ms" for v in side["ours"])
        + " |",
        f"| ratio edgepost / peer detector (medians) | {side['ours'][0] / side['peer'][0]:.2f} | | |",
        "| edgepost with the square finder alone (`finder.wide_model_paths = []`) | "
        + " | ".join(f"{v:.2f} ms" for v in side["square"])
        + " |",
        f"| ratio square finder alone / peer detector (medians) | "
        f"{side['square'][0] / side['peer'][0]:.2f} | | |",
        f"| edgepost on the same frames from a camera rolled {TILT:.0f} degrees, `plates.plate_tilt = "
        f"{TILT:.0f}` | " + " | ".join(f"{v:.2f} ms" for v in side["tilted"]) + " |",
        "",
        f"A plate was read in {side['read_share'] * 100:.0f} % of these frame runs, and in "
        f"{side['tilted_read_share'] * 100:.0f} % of the rolled camera's.",
        "",
        "`read_vehicle` on a 520x390 box about each plate, interleaved: level frames "
        + " / ".join(f"{v:.2f}" for v in vehicle_tilt["level"][:3])
        + f" ms (median / min / max), frames rolled {TILT:.0f} degrees with `plates.plate_tilt = "
        f"{TILT:.0f}` " + " / ".join(f"{v:.2f}" for v in vehicle_tilt["tilted"][:3])
        + f" ms; a plate read in {vehicle_tilt['level'][3] * 100:.0f} % and "
        f"{vehicle_tilt['tilted'][3] * 100:.0f} % of the runs.",
        "",
        "## Per runtime (median, one core)",
        "",
        "| runtime | recognizer `read` (real crop, as configured) | the same read with the province "
        "reader always called | province reader alone (same crop) | second reader (same crop; only "
        "when not sure) | `read_vehicle` (520x390 vehicle box) | `read_frame` (1280x720) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r[0]} | {r[1]:.3f} ms | {r[6]:.3f} ms | {r[5]:.3f} ms | {r[2]:.3f} ms | {r[3]:.2f} ms "
          f"| {r[4]:.2f} ms |" for r in per_runtime],
        "",
        f"As configured, a read whose province the recognizer gives {sure[2]} or more skips the "
        f"province reader (`recognizer.province_sure_above`): {sure[0]} of the {sure[1]} validation "
        "crops read with a province here.",
        "",
        "## The second look close up (`plates.finder.refind`), on and off interleaved",
        "",
        "Mean per call (median / min / max of 3 repeats, one core): the plate-free set is every COCO "
        "vehicle box (`read_vehicle`) and whole photo (`read_frame`) of ../shared/media/images, "
        "where every candidate's read is unsure (the worst case); the checkpoint set is the 13 "
        "frames above (`read_frame`).",
        "",
        "| set | calls | refind on | refind off | reads on / off |",
        "|---|---|---|---|---|",
        *on_off_rows(refind),
        "",
        "## Faint candidates looked at close up (`plates.finder.faint_score`), on and off interleaved",
        "",
        "The same sets and measure; off is `faint_score = 0`.",
        "",
        "| set | calls | faint on | faint off | reads on / off |",
        "|---|---|---|---|---|",
        *on_off_rows(faint),
        "",
        "## Hard shadows evened out before a read (`recognizer.even_shadows`), on and off interleaved",
        "",
        "The same sets and measure; the cost is the shadow check on every read.",
        "",
        "| set | calls | evening on | evening off | reads on / off |",
        "|---|---|---|---|---|",
        *on_off_rows(shadows),
        "",
        "## The letterbox halved first (`gateway.plates.finder.HALVE_FROM`), on and off interleaved",
        "",
        "Mean per call (median / min / max of 3 repeats, one core): `read_vehicle` on the 520x390 box "
        "about each checkpoint frame's plate (the finder's 160 px input: 3.6 times smaller), and the "
        "plate-free media jobs. Off halves only at even whole multiples, as before session 37.",
        "",
        "| set | calls | halving on | halving off | reads on / off |",
        "|---|---|---|---|---|",
        *on_off_rows(halving),
        "",
        "## Wide vehicle boxes through a 160 x 128 finder "
        "(`plates.finder.vehicle_wide_model_paths`), on and off",
        "",
        "The same sets and measure as the sections above; off is the square 160 px vehicle finder alone.",
        "",
        "| set | calls | 160 x 128 on | off | reads on / off |",
        "|---|---|---|---|---|",
        *on_off_rows(vehicle_wide),
        "",
        "## Size",
        "",
        "| model | bytes |",
        "|---|---|",
        f"| models/plates/recognizer_int8.tflite | {rs} |",
        f"| models/plates/second_reader_int8.tflite | {DEFAULT_SECOND_READER.stat().st_size} |",
        f"| models/plates/province_int8.tflite | {DEFAULT_PROVINCE_READER.stat().st_size} |",
        f"| models/plates/localiser_int8.tflite | {ls} |",
        f"| models/plates/plate_finder_y5fu320_f16.tflite | {DEFAULT_FINDER.stat().st_size} |",
        f"| models/plates/plate_finder_y5fu160_f16.tflite | {DEFAULT_VEHICLE_FINDER.stat().st_size} |",
        *(f"| models/plates/{p.name} | {p.stat().st_size} |"
          for p in (*DEFAULT_WIDE_FINDERS, *DEFAULT_VEHICLE_WIDE_FINDERS)),
        "",
        "## Accuracy",
        "",
        "| measure | set | value |",
        "|---|---|---|",
        f"| plate exact match | dev_crops validation split (n={acc['n']}, never trained on) "
        f"| {acc['exact_match'] * 100:.1f} % |",
        f"| character accuracy | same | {acc['char_accuracy'] * 100:.2f} % |",
        f"| localiser recall (IoU>=0.5), model only | {locacc['n']} composite scenes "
        f"(validation crops on real photos) | {locacc['model_recall_iou50'] * 100:.0f} % |",
        f"| localiser recall (IoU>=0.5), model + classical | same "
        f"| {locacc['with_classical_recall_iou50'] * 100:.0f} % |",
        f"| end-to-end exact read | same | {locacc['end_to_end_exact'] * 100:.0f} % |",
        f"| wrong reads (reported text != truth) | same | {locacc['wrong_reads']} |",
        f"| full chain on ../shared/media/images (no readable mainland plate in them) | {n_img} photos, "
        f"{n_veh} COCO-SSD vehicles | {n_reads} plates reported{': ' + '; '.join(reads) if reads else ''} |",
        "",
        f"Validation misses ({len(acc['errors'])}): "
        + (", ".join(f"{t}->{p or '(none)'}" for _, t, p in acc["errors"][:30]) or "none"),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300, help="timed runs per stage")
    ap.add_argument("--write", action="store_true", help="write bench/results/plates.md")
    args = ap.parse_args()
    md = run(args.n)
    print(md)
    if args.write:
        out = REPO / "bench" / "results" / "plates.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md, encoding="utf-8")


if __name__ == "__main__":
    main()
