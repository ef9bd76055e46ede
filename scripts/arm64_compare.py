#!/usr/bin/env python3
"""The arm64 proof's checker: one gateway configuration on x86 and on emulated arm64, compared.

Why: the gateway ships as one pure-Python wheel, but what it computes comes from native
wheels (numpy, OpenCV, LiteRT) that differ per architecture. Proof that a Pi produces the
events x86 produces is the same configuration, the same video and the same subscriber on
both. scripts/arm64_proof.sh prepares the Debian 12 arm64 root and calls this; it is not a
test of the default run (it needs root and minutes of emulated CPU).

Contract: starts a private mosquitto on the host's loopback; runs ``edgepost gateway run``
first on the host (device ``gw-x86``), then inside the arm64 root under qemu-user-static
(device ``gw-arm64``; processes in the chroot share the host's network), each until its
health report says the video has ended and its spool is empty; a subscriber receives both.
Exit 0 when the vehicle events match: same types, classes, lines, directions and counts, in
the same order, each within ``EVENT_T_SLACK_S`` of video time; and when ``edgepost plates
read`` on sample plate photos gives the same reads, or differs only by threshold flips (the
same text found on both sides but rejected on one for a character's confidence). A probe
then runs the detector alone on every ``PROBE_STRIDE``-th frame on both sides and reports
how far scores and boxes drift, so any difference in events can be explained by detections
near a threshold. Writes ``report.md`` and ``report.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import tomli_w  # noqa: E402 - after the checkout is on sys.path (run as a script)

from gateway.broker import LocalMosquitto  # noqa: E402
from gateway.events.render import render_json  # noqa: E402
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions  # noqa: E402

CAMERA = "lane"
MIN_SCORE = 0.4  # as in tests/vision/test_video_cars.py and the demo's lane camera
# Seen from above, COCO SSD calls cars "cell phone" (sometimes "suitcase"/"parking meter").
OVERHEAD_CAR_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}
EVENT_T_SLACK_S = 0.5  # an event may move by a couple of detector runs (0.25 s apart) and match
NEAR_THRESHOLD = 0.05  # a detection within this of MIN_SCORE may flip sides on another CPU
PROBE_STRIDE = 10  # every 10th frame (~38 of 377): enough to measure drift, ~1 min emulated
PROBE_MIN_SCORE = 0.2  # the probe keeps weaker detections too, to see what is near MIN_SCORE
HEALTH_INTERVAL_S = 1.0  # how soon the end of the video is seen
X86_TIMEOUT_S = 300.0
ARM64_TIMEOUT_S = 1800.0  # ~1.5 s per detector run under qemu; the video needs ~100-200 runs
STOP_TIMEOUT_S = 60.0
# Measurements, not identity: compared with a tolerance (or reported), never for equality.
MEASURED = frozenset({"conf", "dwell_ms", "crop", "box"})

# The detector alone, on every n-th frame: JSON lines (frame, label, score, box) on stdout.
PROBE = r"""
import json, sys
import cv2
from gateway.vision.config import DetectorConfig
from gateway.vision.detector import Detector
video, model, labels, stride, min_score = sys.argv[1:6]
det = Detector(DetectorConfig(model=model, labels=labels, min_score=float(min_score)))
cap = cv2.VideoCapture(video)
i = 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    if i % int(stride) == 0:
        for d in det.detect(frame):
            print(json.dumps({"frame": i, "label": d.label, "score": round(float(d.score), 4),
                              "box": [round(float(v), 4) for v in d.box]}), flush=True)
    i += 1
print(json.dumps({"frames": i, "runtime": det.runtime}), flush=True)
"""


class Side:
    """One gateway run: where its files are (as it sees them) and how to start it."""

    def __init__(self, name: str, device: str, prefix: list[str], exe: str, python: str,
                 assets: str, state: Path, state_inside: str) -> None:
        self.name = name
        self.device = device
        self.prefix = prefix  # chroot wrapper, empty on the host
        self.exe = exe
        self.python = python
        self.assets = assets  # the assets folder as the gateway sees it
        self.state = state  # its state folder as the host sees it
        self.state_inside = state_inside  # ... and as the gateway sees it
        self.events: list[dict[str, Any]] = []
        self.health: dict[str, Any] = {}
        self.wall_s = 0.0

    def config(self, port: int) -> dict[str, Any]:
        """The gateway configuration; only the device id and the folders differ per side."""
        return {
            "device": {"id": self.device},
            "mqtt": {"host": "127.0.0.1", "port": port},
            "spool": {"path": f"{self.state_inside}/spool.sqlite3"},
            "health": {"interval_s": HEALTH_INTERVAL_S},
            "cameras": {CAMERA: {
                "source": {"uri": f"{self.assets}/car-detection.mp4", "pacing": "fast"},
                "detector": {"model": f"{self.assets}/detect.tflite",
                             "labels": f"{self.assets}/labelmap.txt", "min_score": MIN_SCORE},
                "schedule": {"motion_interval_s": 0.25},
                "rules": {"classes": ["car"], "class_aliases": OVERHEAD_CAR_ALIASES,
                          "lines": [{"name": "gate", "a": [0.0, 0.5], "b": [1.0, 0.5],
                                     "inbound_side": [0.5, 0.0]}]},
                # The plate stage with its bundled int8 models on every vehicle track: the
                # cars are seen from above, so reads are rare, but the models run on arm64.
                "plates": {"enabled": True},
            }},
        }


def camera_health(doc: dict[str, Any]) -> dict[str, Any]:
    return (doc.get("cameras") or {}).get(CAMERA) or {}


def finished(doc: dict[str, Any]) -> bool:
    """The video has ended and every event has left the spool (acknowledged)."""
    cam = camera_health(doc)
    return bool((cam.get("source") or {}).get("ended")) and (doc.get("spool") or {}).get("depth") == 0


def run_side(side: Side, port: int, lock: threading.Lock, timeout_s: float) -> None:
    """Run one gateway until its health says done (or time out), then stop it with SIGTERM."""
    side.state.mkdir(parents=True, exist_ok=True)
    cfg_path = side.state / "gateway.toml"
    cfg_path.write_bytes(tomli_w.dumps(side.config(port)).encode())
    cmd = [*side.prefix, side.exe, "gateway", "run", "-c", f"{side.state_inside}/gateway.toml"]
    log_path = side.state / "gateway.log"
    print(f"[{side.name}] {' '.join(cmd)}", flush=True)
    t0 = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = t0 + timeout_s
        last_frames = -1
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise SystemExit(f"[{side.name}] the gateway exited early ({proc.returncode}); "
                                     f"its log:\n{log_path.read_text()[-3000:]}")
                with lock:
                    doc = dict(side.health)
                if doc and finished(doc):
                    break
                frames = camera_health(doc).get("frames", 0)
                if frames // 50 != last_frames // 50:
                    print(f"[{side.name}] {frames} frames, {len(side.events)} events, "
                          f"{time.monotonic() - t0:.0f} s", flush=True)
                    last_frames = frames
                time.sleep(0.5)  # polling the subscriber's latest health report
            else:
                raise SystemExit(f"[{side.name}] not done within {timeout_s:.0f} s; last health: "
                                 f"{json.dumps(camera_health(side.health))[:1500]}")
        finally:
            side.wall_s = time.monotonic() - t0
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(f"[{side.name}] done in {side.wall_s:.0f} s: {len(side.events)} events", flush=True)


def identity(ev: dict[str, Any]) -> dict[str, Any]:
    """What happened: type and body without measurements (floats, durations, crops)."""
    body = {k: v for k, v in (ev.get("body") or {}).items()
            if k not in MEASURED and not isinstance(v, float | bytes)}
    return {"type": ev.get("type"), **body}


def measured_drift(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, float]:
    """Largest differences of the measured fields between paired events (same position).

    ``ts`` is the gateway's capture time: with fast pacing it advances with video time from
    the run's start, so it is compared relative to each stream's first event."""
    drift = {"conf": 0.0, "dwell_s": 0.0, "video_t_s": 0.0}
    if not a or not b:
        return drift
    for ea, eb in zip(a, b, strict=False):
        ba, bb = ea.get("body") or {}, eb.get("body") or {}
        if "conf" in ba and "conf" in bb:
            drift["conf"] = max(drift["conf"], abs(ba["conf"] - bb["conf"]))
        if "dwell_ms" in ba and "dwell_ms" in bb:
            drift["dwell_s"] = max(drift["dwell_s"], abs(ba["dwell_ms"] - bb["dwell_ms"]) / 1000)
        ta, tb = (ea["ts"] - a[0]["ts"]) / 1000, (eb["ts"] - b[0]["ts"]) / 1000
        drift["video_t_s"] = max(drift["video_t_s"], abs(ta - tb))
    return {k: round(v, 3) for k, v in drift.items()}


def compare_events(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[str]:
    """Differences between two event streams, as sentences (empty: they match)."""
    problems = []
    ca = Counter(json.dumps(identity(e), sort_keys=True) for e in a)
    cb = Counter(json.dumps(identity(e), sort_keys=True) for e in b)
    for key in sorted(set(ca) | set(cb)):
        if ca[key] != cb[key]:
            problems.append(f"{key}: x86 {ca[key]}, arm64 {cb[key]}")
    if not problems:
        for i, (ea, eb) in enumerate(zip(a, b, strict=True)):
            if identity(ea) != identity(eb):
                problems.append(f"order differs at event {i}: {identity(ea)} vs {identity(eb)}")
                break
    if not problems and (t := measured_drift(a, b)["video_t_s"]) > EVENT_T_SLACK_S:
        problems.append(f"an event moved by {t:.2f} s of video (> {EVENT_T_SLACK_S} s)")
    return problems


def probe(prefix: list[str], python: str, assets: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cmd = [*prefix, python, "-c", PROBE, f"{assets}/car-detection.mp4", f"{assets}/detect.tflite",
           f"{assets}/labelmap.txt", str(PROBE_STRIDE), str(PROBE_MIN_SCORE)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=ARM64_TIMEOUT_S)
    if res.returncode != 0:
        raise SystemExit(f"detector probe failed ({res.returncode}):\n{res.stderr[-3000:]}")
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return [r for r in lines if "frame" in r], lines[-1]


def read_plates(prefix: list[str], exe: str, folder: str) -> dict[str, dict[str, Any]]:
    """``edgepost plates read --json`` on the sample plate images: result by file name."""
    res = subprocess.run([*prefix, exe, "plates", "read", "--json", folder], capture_output=True,
                         text=True, timeout=ARM64_TIMEOUT_S)
    if res.returncode not in (0, 2):
        raise SystemExit(f"plates read failed ({res.returncode}):\n{res.stderr[-3000:]}")
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return {Path(r["image"]).name: r for r in rows if "image" in r}


def plate_flip(read: dict[str, Any], other: dict[str, Any]) -> bool:
    """One side accepted a text that the other side also found but rejected for a character's
    confidence: the same reading on either side of the reader's threshold, not a misread."""
    texts = {p["text"] for p in read.get("plates") or []}
    return bool(texts) and not other.get("plates") and any(
        c.get("text") in texts and "below the minimum confidence" in c.get("reason", "")
        for c in other.get("candidates") or [])


def compare_plates(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Same reads (text, type, colour) on both sides. A difference is explained when it is a
    threshold flip (``plate_flip``); any other difference (two different texts accepted, or a
    text the other side never found) is not."""
    differ, explained, dconf, dbox = [], [], [0.0], [0]
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name, {}), b.get(name, {})
        pa, pb = ra.get("plates") or [], rb.get("plates") or []
        key_a = [(p["text"], p["plate_type"], p["colour"]) for p in pa]
        key_b = [(p["text"], p["plate_type"], p["colour"]) for p in pb]
        if key_a != key_b or ra.get("status") != rb.get("status"):
            weak = [f"{c.get('text')!r} rejected: {c.get('reason')}" for c in
                    (rb if pa else ra).get("candidates") or [] if c.get("text")][:2]
            line = (f"{name}: x86 {key_a or ra.get('status')}, arm64 {key_b or rb.get('status')}"
                    f"{' (' + '; '.join(weak) + ')' if weak else ''}")
            (explained if plate_flip(ra, rb) or plate_flip(rb, ra) else differ).append(line)
            continue
        for p, q in zip(pa, pb, strict=True):
            dconf.append(abs(p["confidence"] - q["confidence"]))
            dbox.append(max(abs(u - v) for u, v in zip(p["box"], q["box"], strict=True)))
    return {"images": len(set(a) | set(b)), "read_x86": sum(1 for r in a.values() if r.get("plates")),
            "read_arm64": sum(1 for r in b.values() if r.get("plates")),
            "max_conf_diff": round(max(dconf), 4), "max_box_diff_px": max(dbox),
            "differ": differ, "explained_near_threshold": explained}


def iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare_probe(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Pair detections frame by frame (same label, best IoU): score and box drift."""
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for d in b:
        by_frame.setdefault(d["frame"], []).append(d)
    dscore, ious, unmatched, near = [], [], [], []
    for d in a:
        cands = [e for e in by_frame.get(d["frame"], []) if e["label"] == d["label"]]
        best = max(cands, key=lambda e: iou(d["box"], e["box"]), default=None)
        if best is None or iou(d["box"], best["box"]) < 0.5:
            unmatched.append(("x86 only", d))
            continue
        by_frame[d["frame"]].remove(best)
        dscore.append(abs(d["score"] - best["score"]))
        ious.append(iou(d["box"], best["box"]))
        if min(d["score"], best["score"]) < MIN_SCORE <= max(d["score"], best["score"]):
            near.append({"frame": d["frame"], "label": d["label"], "x86": d["score"],
                         "arm64": best["score"]})
    unmatched += [("arm64 only", e) for rest in by_frame.values() for e in rest]
    return {
        "pairs": len(dscore), "max_score_diff": max(dscore, default=0.0),
        "mean_score_diff": sum(dscore) / len(dscore) if dscore else 0.0,
        "min_box_iou": min(ious, default=1.0),
        "identical_pairs": sum(1 for s, i in zip(dscore, ious, strict=True) if s == 0 and i == 1),
        "unmatched": [f"{w}: frame {d['frame']} {d['label']} {d['score']}" for w, d in unmatched],
        "across_min_score": near,
        "near_min_score": sum(1 for d in a if abs(d["score"] - MIN_SCORE) <= NEAR_THRESHOLD),
    }


def per_frame(side: Side) -> dict[str, Any]:
    cam = camera_health(side.health)
    stages = cam.get("stages") or {}
    frames = cam.get("frames") or 0
    return {
        "frames": frames, "detector_runs": cam.get("detector_runs"),
        "wall_s": round(side.wall_s, 1),
        "wall_ms_per_frame": round(1000 * side.wall_s / frames, 1) if frames else None,
        "stages_mean_ms": {k: round(v.get("mean_ms", 0.0), 1) for k, v in stages.items()},
        "runtime": cam.get("runtime"), "plate_reads": cam.get("plate_reads"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, required=True, help="the arm64 root (debootstrap)")
    ap.add_argument("--proof-dir", default="/opt/edgepost-proof",
                    help="folder inside the root with assets/ (video, model, labels)")
    ap.add_argument("--out", type=Path, required=True, help="report folder")
    ap.add_argument("--x86-only", action="store_true", help="skip the arm64 side (trying it out)")
    args = ap.parse_args()

    proof = args.proof_dir
    host_assets = f"{args.root}{proof}/assets"  # the host reads the very same files
    chroot = ["chroot", str(args.root), "/usr/bin/env", "-i", "PATH=/usr/bin:/bin",
              "HOME=/root", "LANG=C.UTF-8"]
    venv_bin = Path(sys.executable).parent
    x86 = Side("x86", "gw-x86", [], str(venv_bin / "edgepost"), sys.executable, host_assets,
               args.out / "x86", str(args.out / "x86"))
    arm = Side("arm64", "gw-arm64", chroot, "/opt/edgepost/venv/bin/edgepost",
               "/opt/edgepost/venv/bin/python", f"{proof}/assets",
               Path(f"{args.root}{proof}/run"), f"{proof}/run")
    sides = {s.device: s for s in (x86, arm)}
    lock = threading.Lock()

    def on_message(msg: Received) -> None:
        side = sides.get(msg.device)
        if side is None:
            return
        with lock:
            if msg.kind == "event" and msg.event is not None:
                side.events.append(json.loads(render_json(msg.device, msg.event)))
            elif msg.kind == "health" and isinstance(msg.document, dict):
                side.health = msg.document

    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    with LocalMosquitto() as broker:
        sub = EventSubscriber(SubscriberOptions(port=broker.port, include_status=True), on_message)
        sub.start()
        if not sub.subscribed.wait(10):
            raise SystemExit(f"cannot subscribe to the private mosquitto on port {broker.port}")
        print(f"private mosquitto on 127.0.0.1:{broker.port}", flush=True)
        run_side(x86, broker.port, lock, X86_TIMEOUT_S)
        if not args.x86_only:
            for stale in arm.state.glob("spool.sqlite3*"):
                stale.unlink()  # a previous run's spool would replay old events
            run_side(arm, broker.port, lock, ARM64_TIMEOUT_S)
        sub.stop()

    for side in (x86, arm):
        (args.out / f"events-{side.name}.jsonl").write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in side.events))
    report["x86"] = {"events": dict(Counter(e.get("type") for e in x86.events)), **per_frame(x86)}
    print(json.dumps(report, indent=1, default=str))
    if args.x86_only:
        return 0
    report["arm64"] = {"events": dict(Counter(e.get("type") for e in arm.events)), **per_frame(arm)}
    problems = compare_events(x86.events, arm.events)
    report["drift"] = measured_drift(x86.events, arm.events)
    report["differences"] = problems

    print(f"detector probe on every {PROBE_STRIDE}-th frame (x86, then arm64)", flush=True)
    pa, ia = probe([], sys.executable, host_assets)
    pb, ib = probe(chroot, arm.python, f"{proof}/assets")
    report["probe"] = {"x86_runtime": ia.get("runtime"), "arm64_runtime": ib.get("runtime"),
                       "frames_probed": (ia.get("frames", 0) + PROBE_STRIDE - 1) // PROBE_STRIDE,
                       **compare_probe(pa, pb)}
    print("plates read on the sample plate images (x86, then arm64)", flush=True)
    plates = compare_plates(read_plates([], x86.exe, f"{host_assets}/plates"),
                            read_plates(chroot, arm.exe, f"{proof}/assets/plates"))
    report["plates"] = plates
    problems += [f"plate read differs: {d}" for d in plates["differ"]]
    (args.out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (args.out / "report.md").write_text(markdown(report))
    print(markdown(report))
    return 1 if problems else 0


def markdown(r: dict[str, Any]) -> str:
    p = r["probe"]
    lines = [f"# arm64 proof, {r['date']}", "",
             "| | x86 (host) | arm64 (qemu-user) |", "| --- | --- | --- |"]
    for key in ("events", "frames", "detector_runs", "plate_reads", "runtime", "wall_s",
                "wall_ms_per_frame", "stages_mean_ms"):
        lines.append(f"| {key} | {r['x86'].get(key)} | {r['arm64'].get(key)} |")
    d = r["drift"]
    lines += ["", f"Events: {'MATCH' if not r['differences'] else 'DIFFER'} (type, class, line, "
              f"direction, phase, track, order); largest differences of paired events: conf "
              f"{d['conf']}, dwell {d['dwell_s']} s, video time {d['video_t_s']} s."]
    lines += [f"- {d}" for d in r["differences"]]
    lines += ["", f"Detector probe ({p['frames_probed']} frames, scores >= {PROBE_MIN_SCORE}): "
              f"{p['pairs']} paired detections, {p['identical_pairs']} bit-identical, "
              f"max score difference {p['max_score_diff']:.4f} (mean {p['mean_score_diff']:.5f}), "
              f"min box IoU {p['min_box_iou']:.4f}; unmatched: {p['unmatched'] or 'none'}; "
              f"crossing min_score {MIN_SCORE}: {p['across_min_score'] or 'none'}; "
              f"x86 detections within {NEAR_THRESHOLD} of it: {p['near_min_score']}.", ""]
    q = r["plates"]
    lines += [f"Plate reads (`edgepost plates read`, {q['images']} images): read x86 {q['read_x86']}, "
              f"arm64 {q['read_arm64']}; equal reads: max confidence difference "
              f"{q['max_conf_diff']}, max box difference {q['max_box_diff_px']} px; unexplained "
              f"differences: {q['differ'] or 'none'}.", "",
              "Threshold flips (the same text found on both sides, accepted on one and rejected "
              "on the other for a character's confidence):", ""]
    lines += [f"- {d}" for d in q["explained_near_threshold"] or ["none"]]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
