"""Vision benchmark: gated pipeline vs. a naive detect-every-frame loop on the same clip,
and the pipeline's cost per detection over a raw ``interpreter.invoke()``.

Run:  .venv/bin/python bench/bench_vision.py [--rounds 5] [--naive-rounds 3] [--threads N]
          [--out bench/results/vision.md]

Measures, on one-by-one-person-detection.mp4 by default, with the defaults a site gets
(tamper checks on, clips off, no live viewer), every side interleaved round by round:
* overhead: each round times raw ``invoke()`` on 60 prepared frames, then the gated pipeline
  over the clip, then raw ``invoke()`` again; the round's overhead is the pipeline's mean
  time per detection (preprocess + invoke + output decode) over the mean of the two raw
  batches around it. Reported: median of ``--rounds`` (>= 5) with min and max;
* the same with evidence clips on (a second figure, the ring of recent frames running), and
  with a live viewer asking for an annotated snapshot once per second of video (a third);
* fps of the gated pipeline and of a naive loop that runs the detector on every frame
  (``--naive-rounds``), and the person tracks both find;
* per-stage times, p50/p99 latency from frame capture to ``on_event`` and to the event
  being durable in the spool.
The gateway's memory is measured on the real process by bench/bench_gateway_rss.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.camera.config import CameraSourceConfig, PacingMode  # noqa: E402
from gateway.vision.config import (  # noqa: E402
    DetectorConfig,
    MotionGateConfig,
    RulesConfig,
    ScheduleConfig,
    VisionCameraConfig,
)
from gateway.vision.detector import Detector  # noqa: E402
from gateway.vision.events import ObjectEnter, VisionEvent  # noqa: E402
from gateway.vision.pipeline import CameraPipeline  # noqa: E402


def shared_dir() -> Path:
    return Path(os.environ.get("EDGEPOST_SHARED") or REPO.parent / "shared")


def camera(video: Path, detector: DetectorConfig, gated: bool) -> VisionCameraConfig:
    return VisionCameraConfig(
        source=CameraSourceConfig(uri=str(video), pacing=PacingMode.FAST),
        detector=detector,
        motion=MotionGateConfig(enabled=gated),
        schedule=ScheduleConfig(motion_interval_s=1.0, refresh_interval_s=1.5),
        rules=RulesConfig(classes=["person"]),
    )


def run(cfg: VisionCameraConfig, detector: Detector, spool_dir: Path | None = None,
        clips: object = None, viewer_every: int = 0) -> dict:
    """Run the pipeline over the clip; with ``spool_dir`` every event is also made durable in
    a real spool (SQLite, synchronous=FULL) and the capture-to-spool latency is recorded.

    ``viewer_every`` > 0: a live viewer (the gateway page's live view) asks for an annotated
    snapshot, on its own thread as the web server does, once per that many frames: the clip
    plays as fast as the CPU allows, so "once a second of video" is what a technician's
    browser would cost at the video's real rate."""
    from gateway.events import Format, Topics
    from gateway.service.health import Counters
    from gateway.service.producer import EventProducer
    from gateway.service.vision_events import to_body
    from gateway.uplink.spool import Spool

    events: list[VisionEvent] = []
    to_spool_ms: list[float] = []
    producer = None
    if spool_dir is not None:
        producer = EventProducer(Spool(spool_dir / "bench.sqlite3"), Topics("gw-bench"),
                                 Format.CBOR, Counters())

    def on_event(ev: VisionEvent) -> None:
        events.append(ev)
        body = to_body(ev) if producer is not None else None
        if body is not None and producer.emit(body, ts_ms=int(ev.wall * 1000)) is not None:
            to_spool_ms.append((time.monotonic() - ev.capture_mono) * 1000)

    pipe = CameraPipeline("bench", cfg, on_event, detector=detector, clips=clips)
    done = threading.Event()
    snapshots: list[float] = []

    def viewer() -> None:
        due = viewer_every
        while not done.is_set():
            if pipe.health_stats.frames >= due:
                t = time.perf_counter()
                if pipe.snapshot() is not None:
                    snapshots.append((time.perf_counter() - t) * 1000)
                due += viewer_every
            else:
                done.wait(0.002)  # the browser's poll: far coarser than a frame at this speed

    watcher = threading.Thread(target=viewer, daemon=True) if viewer_every > 0 else None
    t0 = time.perf_counter()
    if watcher is not None:
        watcher.start()
    pipe.run()
    wall = time.perf_counter() - t0
    done.set()
    if watcher is not None:
        watcher.join()
    h = pipe.health()
    enters = [e for e in events if isinstance(e, ObjectEnter)]
    return {
        "wall": wall, "fps": h["frames"] / wall, "health": h, "tracks": len(enters),
        "spans": [round(e.t, 1) for e in enters], "to_spool_ms": sorted(to_spool_ms),
        "snapshot_ms": snapshots,
    }


def raw_invoke_ms(detector: Detector, tensors: list[np.ndarray]) -> list[float]:
    """``interpreter.invoke()`` alone on prepared input tensors."""
    interp = detector.model.interpreter
    idx = interp.get_input_details()[0]["index"]
    times = []
    for t in tensors:
        interp.set_tensor(idx, t)
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def against_raw(result: dict, detector: Detector, tensors: list[np.ndarray],
                raw_before: list[float]) -> tuple[float, float, list[float]]:
    """A pipeline run's overhead (%) over raw ``invoke()``, against the raw batch timed before
    it and one timed now: ``(overhead, raw mean ms, the new batch)``; the new batch is the
    next run's "before"."""
    raw_after = raw_invoke_ms(detector, tensors)
    raw = statistics.mean(raw_before + raw_after)
    per_det = result["health"]["stages"]["detect_total"]["mean_ms"]
    return 100 * (per_det - raw) / raw, raw, raw_after


def prepared(detector: Detector, video: Path, n: int = 60) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    tensors = []
    while len(tensors) < n:
        ok, img = cap.read()
        if not ok:
            break
        tensors.append(detector.prepare(img)[0].copy())  # prepare() reuses its buffer
    cap.release()
    return tensors


def clips_on(cfg: VisionCameraConfig, workdir: Path) -> tuple[VisionCameraConfig, object] | None:
    """The camera with evidence clips on, and its recorder; None where clips are absent."""
    try:
        from gateway.clips.config import ClipStoreConfig
        from gateway.clips.recorder import ClipRecorder
        from gateway.clips.store import ClipStore
    except ImportError:
        return None
    on = cfg.model_copy(update={"clips": cfg.clips.model_copy(update={"enabled": True})})
    store = ClipStore(ClipStoreConfig(), workdir / "clips")
    return on, ClipRecorder("bench", on.clips, store)


def spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = shared_dir()
    ap.add_argument("--video", type=Path,
                    default=shared / "media/video/one-by-one-person-detection.mp4")
    ap.add_argument("--model", default=str(shared / "models/coco_ssd_mobilenet_v1/detect.tflite"))
    ap.add_argument("--labels", default=str(shared / "models/coco_ssd_mobilenet_v1/labelmap.txt"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5, help="overhead rounds (>= 5 for a figure)")
    ap.add_argument("--naive-rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench/results/vision.md")
    args = ap.parse_args()

    dcfg = DetectorConfig(model=args.model, labels=args.labels, min_score=0.5,
                          num_threads=args.threads)
    detector = Detector(dcfg)
    detector.detect(np.zeros((432, 768, 3), np.uint8))  # warm-up: allocate, XNNPACK setup
    tensors = prepared(detector, args.video)
    capture = cv2.VideoCapture(str(args.video))
    video_fps = max(1, round(capture.get(cv2.CAP_PROP_FPS) or 30))  # one live-view frame a second
    capture.release()

    overhead: list[float] = []
    overhead_clips: list[float] = []
    overhead_viewer: list[float] = []
    viewer_runs: list[dict] = []
    raw_means: list[float] = []
    gated_runs: list[dict] = []
    clip_runs: list[dict] = []
    naive_runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw_before = raw_invoke_ms(detector, tensors)
        for r in range(max(args.rounds, args.naive_rounds)):
            # Interleaved: raw, pipeline, raw (, clips on, raw) (, naive); each pipeline
            # figure is taken against the raw batches measured right around it.
            if r < args.rounds:
                spool_dir = work / f"g{r}"
                spool_dir.mkdir()
                gated = run(camera(args.video, dcfg, True), detector, spool_dir=spool_dir)
                o, raw, raw_before = against_raw(gated, detector, tensors, raw_before)
                overhead.append(o)
                raw_means.append(raw)
                gated_runs.append(gated)
                with_clips = clips_on(camera(args.video, dcfg, True), work / f"c{r}")
                if with_clips is not None:
                    ccfg, recorder = with_clips
                    crun = run(ccfg, detector, clips=recorder)
                    o, _, raw_before = against_raw(crun, detector, tensors, raw_before)
                    overhead_clips.append(o)
                    clip_runs.append(crun)
                vrun = run(camera(args.video, dcfg, True), detector, viewer_every=video_fps)
                o, _, raw_before = against_raw(vrun, detector, tensors, raw_before)
                overhead_viewer.append(o)
                viewer_runs.append(vrun)
            if r < args.naive_rounds:
                naive_runs.append(run(camera(args.video, dcfg, False), detector))
            print(f"round {r + 1}: overhead {overhead[-1]:+.1f} %"
                  + (f", with clips {overhead_clips[-1]:+.1f} %" if overhead_clips else "")
                  + (f", live viewer {overhead_viewer[-1]:+.1f} %" if overhead_viewer else "")
                  + (f", naive {naive_runs[-1]['fps']:.1f} fps" if r < args.naive_rounds else "")
                  + f", gated {gated_runs[-1]['fps']:.1f} fps", flush=True)

    gh = gated_runs[len(gated_runs) // 2]["health"]  # a representative run for stage detail
    st = gh["stages"]
    gated_fps = [g["fps"] for g in gated_runs]
    naive_fps = [n["fps"] for n in naive_runs]
    speedup = statistics.median(gated_fps) / statistics.median(naive_fps)
    same_tracks = all(g["tracks"] == naive_runs[0]["tracks"] for g in gated_runs + naive_runs)
    spool_p50 = [g["to_spool_ms"][len(g["to_spool_ms"]) // 2] for g in gated_runs
                 if g["to_spool_ms"]]
    lat = gh["latency"]
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    med, lo, hi = spread(overhead)
    rows = [
        ("frames", f"{gh['frames']}", f"{naive_runs[0]['health']['frames']}"),
        ("detector runs", f"{gh['detector_runs']}", f"{naive_runs[0]['health']['detector_runs']}"),
        ("fps median (min-max)", "{:.1f} ({:.1f}-{:.1f})".format(*spread(gated_fps)),
         "{:.1f} ({:.1f}-{:.1f})".format(*spread(naive_fps))),
        ("runs", f"{len(gated_fps)}", f"{len(naive_fps)}"),
        ("person tracks", f"{gated_runs[0]['tracks']}", f"{naive_runs[0]['tracks']}"),
        ("track enter times (s)", f"{gated_runs[0]['spans']}", f"{naive_runs[0]['spans']}"),
    ]
    stage_rows = [
        ("decode (source read)", st["read"]), ("motion gate", st["gate"]),
        ("tamper check", st.get("tamper")),
        ("preprocess", st["preprocess"]), ("inference (invoke)", st["inference"]),
        ("output decode", st["decode"]), ("tracking", st["tracking"]), ("rules", st["rules"]),
        ("detection total (pre+invoke+decode)", st["detect_total"]),
    ]
    if clip_runs:
        stage_rows.append(("clip ring (clips on)",
                           clip_runs[len(clip_runs) // 2]["health"]["stages"].get("clip_ring")))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clip_line = (
        "- with evidence clips on (ring of recent frames): overhead median "
        "{:+.1f} % (min {:+.1f}, max {:+.1f}) over {} rounds.".format(*spread(overhead_clips),
                                                                      len(overhead_clips))
        if overhead_clips else "- evidence clips: not available in this tree (not measured).")
    viewer_line = (
        "- with a live viewer (the gateway page's live view: an annotated snapshot per second of "
        "video, on its own thread): overhead median {:+.1f} % (min {:+.1f}, max {:+.1f}) over {} "
        "rounds; one snapshot {:.1f} ms (median).".format(
            *spread(overhead_viewer), len(overhead_viewer),
            statistics.median([ms for v in viewer_runs for ms in v["snapshot_ms"]] or [0.0])))
    lines = [
        "# Vision benchmark",
        "",
        f"- date: {now}; commit {commit}",
        f"- machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {detector.runtime}, num_threads={args.threads}, load {os.getloadavg()[0]:.1f} at "
        "the end (shared machine)",
        f"- command: `.venv/bin/python bench/bench_vision.py --rounds {args.rounds} "
        f"--naive-rounds {args.naive_rounds} --threads {args.threads}`",
        f"- clip: `{args.video.name}` ({gh['frames']} frames), model `coco_ssd_mobilenet_v1`"
        " (uint8, 300x300); defaults a site gets (tamper checks on, clips off)",
        "",
        "## Pipeline overhead over raw invoke (interleaved rounds)",
        "",
        f"**overhead median {med:+.1f} %** (min {lo:+.1f}, max {hi:+.1f}) over {len(overhead)}"
        f" rounds (limit 15 %); per round: {', '.join(f'{o:+.1f}' for o in overhead)}.",
        f"- raw `invoke()` mean per round: {', '.join(f'{m:.2f}' for m in raw_means)} ms.",
        clip_line,
        viewer_line,
        "",
        "## Gated pipeline vs naive detect-every-frame loop",
        "",
        "| | pipeline (gate+detector+tracker) | naive (detector on every frame) |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"**Speed-up: {speedup:.1f}x** (target >= 5x, medians), same person tracks in every "
        f"run: {'yes' if same_tracks else 'NO'}.",
        "",
        "## Per-stage times (one gated run)",
        "",
        "| stage | count | mean ms | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
        *[f"| {n} | {s['count']} | {s['mean_ms']:.2f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} |"
          for n, s in stage_rows if s],
        "",
        "## Latency",
        "",
        f"- frame capture -> `on_event` called: p50 {lat['p50_ms']:.1f} ms, p99 "
        f"{lat['p99_ms']:.1f} ms over {lat['count']} events (one run).",
        "- frame capture -> event durable in the spool (encoded, SQLite commit with fsync): "
        "p50 median {:.1f} ms (min {:.1f}, max {:.1f}) over {} runs.".format(
            *spread(spool_p50), len(spool_p50)) if spool_p50 else "- no events spooled",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    ok = speedup >= 5 and same_tracks and med <= 15
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
