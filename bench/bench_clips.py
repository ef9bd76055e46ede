"""Evidence clips benchmark: ring memory, clip encode time, pipeline fps and RSS with clips on/off.

Run:  .venv/bin/python bench/bench_clips.py [--frames 600] [--repeats 3] [--append]

Measures, on one-by-one-person-detection.mp4 (768x432, 10 fps):
* the ring's memory for 10 s at 10 fps (JPEG at the default quality) against raw frames, and
  the JPEG encode time per frame (the camera loop's cost of keeping the ring);
* the time to encode a 10 s clip to MP4 (mp4v with OpenCV; H.264 through ffmpeg if installed);
* the camera pipeline's fps and the process's peak RSS with clips on and off, each run in a
  fresh process, the two interleaved (off, on, off, on...), medians of ``--repeats``.
With ``--append`` the results go to bench/RESULTS.md with the date and the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.clips.ring import FrameRing  # noqa: E402
from gateway.clips.store import encode_h264, encode_mp4v, ffmpeg_path  # noqa: E402

VIDEO = "media/video/one-by-one-person-detection.mp4"
MODEL = "models/coco_ssd_mobilenet_v1/detect.tflite"
LABELS = "models/coco_ssd_mobilenet_v1/labelmap.txt"


def shared_dir() -> Path:
    return Path(os.environ.get("EDGEPOST_SHARED") or REPO.parent / "shared")


def frames(n: int) -> list:
    cap = cv2.VideoCapture(str(shared_dir() / VIDEO))
    out = [cap.read()[1] for _ in range(n)]
    cap.release()
    return out


def ring_and_encode(repeats: int) -> dict[str, float]:
    imgs = frames(100)  # 10 s at 10 fps
    ring = FrameRing(keep_s=10.0, max_fps=10.0, quality=75)
    per_frame = []
    for i, img in enumerate(imgs):
        t0 = time.perf_counter()
        ring.push(img, i / 10, i / 10, i)
        per_frame.append(time.perf_counter() - t0)
    kept = ring.since(0)
    res = {"ring_frames": len(kept), "ring_mb": ring.bytes / 1e6,
           "raw_mb": sum(img.nbytes for img in imgs) / 1e6,
           "jpeg_ms_p50": 1000 * statistics.median(per_frame)}
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            encode_mp4v(kept, 10.0, Path(tmp) / f"c{r}.mp4")
            times.append(time.perf_counter() - t0)
        res["mp4v_s"] = statistics.median(times)
        res["mp4v_mb"] = (Path(tmp) / "c0.mp4").stat().st_size / 1e6
        exe = ffmpeg_path()
        if exe:
            times = []
            for r in range(repeats):
                t0 = time.perf_counter()
                encode_h264(kept, 10.0, Path(tmp) / f"h{r}.mp4", exe)
                times.append(time.perf_counter() - t0)
            res["h264_s"] = statistics.median(times)
            res["h264_mb"] = (Path(tmp) / "h0.mp4").stat().st_size / 1e6
    return res


def child(clips: bool, n: int) -> None:
    """One pipeline run in this (fresh) process; prints fps and peak RSS as JSON."""
    from gateway.clips.config import ClipStoreConfig
    from gateway.clips.recorder import ClipRecorder
    from gateway.clips.store import ClipStore
    from gateway.vision.config import VisionCameraConfig
    from gateway.vision.pipeline import CameraPipeline

    shared = shared_dir()
    cfg = VisionCameraConfig.model_validate({
        "source": {"uri": str(shared / VIDEO), "pacing": "fast"},
        "detector": {"model": str(shared / MODEL), "labels": str(shared / LABELS)},
        "schedule": {"motion_interval_s": 0.5},
        "rules": {"classes": ["person"], "zones": [
            {"name": "hall", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "intrusion": True}]},
        "clips": {"enabled": clips, "pre_s": 5.0, "post_s": 5.0}})
    with tempfile.TemporaryDirectory() as tmp:
        store = ClipStore(ClipStoreConfig(codec="mp4v"), Path(tmp)) if clips else None
        recorder = ClipRecorder("hall", cfg.clips, store) if store else None
        pipe = CameraPipeline("hall", cfg, lambda ev: None, clips=recorder)
        t0 = time.perf_counter()
        pipe.run(max_frames=n)
        secs = time.perf_counter() - t0
        if store is not None:
            store.close()
        hwm = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text()
                   .splitlines() if line.startswith("VmHWM:"))
        print(json.dumps({"fps": pipe.health()["frames"] / secs, "rss_mb": hwm / 1024,
                          "clips": (store.health()["written"] if store else 0)}))


def pipeline_runs(n: int, repeats: int) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for _ in range(repeats):
        for mode in ("off", "on"):  # interleaved: a slow spell hits both alike
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--frames", str(n)],
                                 capture_output=True, text=True, check=True, cwd=REPO)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {mode: {"fps": statistics.median(r["fps"] for r in rs),
                   "fps_min": min(r["fps"] for r in rs), "fps_max": max(r["fps"] for r in rs),
                   "rss_mb": statistics.median(r["rss_mb"] for r in rs),
                   "clips": rs[0]["clips"]} for mode, rs in runs.items()}


def report(ring: dict[str, float], pipe: dict[str, dict[str, float]], n: int,
           repeats: int) -> str:
    lines = [
        "", f"## Evidence clips (bench/bench_clips.py, {dt.date.today().isoformat()})", "",
        f"- date: {dt.date.today().isoformat()}; machine: {cpu_name()}, {os.cpu_count()} cores "
        f"shared with other work during the run, Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}; ffmpeg: {'yes' if ffmpeg_path() else 'not installed'}",
        f"- ring: 10 s of one-by-one-person-detection.mp4 (768x432, 10 fps), JPEG quality 75: "
        f"**{ring['ring_mb']:.1f} MB** for {ring['ring_frames']} frames against "
        f"{ring['raw_mb']:.1f} MB raw; JPEG encode {ring['jpeg_ms_p50']:.1f} ms per kept frame "
        "(p50)",
        f"- clip encode, 10 s (100 frames) to MP4 mp4v: **{ring['mp4v_s']:.2f} s** "
        f"(median of {repeats}), {ring['mp4v_mb']:.2f} MB"
        + (f"; H.264 via ffmpeg {ring['h264_s']:.2f} s, {ring['h264_mb']:.2f} MB"
           if "h264_s" in ring else "; H.264 not measured (no ffmpeg here)"),
        f"- pipeline over the first {n} frames (fast pacing, detector gated by motion, one zone "
        "intrusion rule, clips pre 5 s / post 5 s), each run a fresh process, off/on "
        f"interleaved, median of {repeats}:", "",
        "| clips | fps (median) | min / max | peak RSS MB | clips written |",
        "|---|---|---|---|---|",
    ]
    for mode in ("off", "on"):
        r = pipe[mode]
        lines.append(f"| {mode} | {r['fps']:.1f} | {r['fps_min']:.1f} / {r['fps_max']:.1f} | "
                     f"{r['rss_mb']:.0f} | {r['clips']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child == "on", args.frames)
        return
    ring = ring_and_encode(args.repeats)
    pipe = pipeline_runs(args.frames, args.repeats)
    text = report(ring, pipe, args.frames, args.repeats)
    print(text)
    if args.append:
        with (REPO / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
