"""``edgepost demo``: the whole path on one machine, with nothing configured.

Pulls the detector and the sample videos through the asset manifest (from a mirror when
offline), starts a private mosquitto on a free port, runs the gateway with two cameras on
the sample videos (people walking through a hall; cars crossing a counting line), prints
what a central subscriber receives, and writes an annotated summary image per camera.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gateway.broker import LocalMosquitto, MosquittoNotFoundError
from gateway.cli.events_cmd import format_received
from gateway.config import GatewayConfig, parse_config
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions

DEMO_ASSETS = ["coco_ssd_mobilenet_v1", "coco_ssd_mobilenet_v1_labels",
               "video_one_by_one_person_detection", "video_car_detection"]
# Seen from above, COCO SSD calls cars "cell phone" (and sometimes "suitcase" or "parking meter").
OVERHEAD_CAR_ALIASES = {"cell phone": "car", "suitcase": "car", "parking meter": "car"}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo", help="run gateway + local broker + subscriber on the sample videos",
        description="Pull the detector and sample videos (from --mirror when offline), start "
        "a private mosquitto, run the gateway with two cameras on the sample videos, print "
        "what a subscriber receives and write an annotated summary image per camera.")
    p.add_argument("--mirror", type=Path, default=None,
                   help="offline asset mirror (default: $EDGEPOST_ASSET_MIRROR, else ../shared "
                        "from the current folder if it holds models/, else download)")
    p.add_argument("--out", type=Path, default=Path("demo-out"),
                   help="folder for the summary images (default ./demo-out)")
    p.add_argument("--realtime", action="store_true",
                   help="play the videos at their own frame rate (default: as fast as possible)")
    p.add_argument("--duration", type=float, default=300.0,
                   help="stop after this many seconds at the latest (default 300)")
    p.add_argument("--synthetic", action="store_true",
                   help="no cameras: synthetic vehicle-passage events only (no vision extra needed)")
    p.add_argument("--interval", type=float, default=2.0,
                   help="--synthetic: seconds between events")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=cmd_demo)


def _mirror(arg: Path | None) -> Path | None:
    if arg is not None:
        return arg
    env = os.environ.get("EDGEPOST_ASSET_MIRROR")
    if env:
        return Path(env)
    # Relative to where the command runs, not to the package: an installed wheel has no
    # source tree around it, and a checkout's ../shared is found from its root as before.
    beside = Path.cwd().parent / "shared"
    return beside if (beside / "models").is_dir() else None


def pull_demo_assets(mirror: Path | None, cache: Path) -> dict[str, Path]:
    """Fetch and verify the demo's assets; raise SystemExit with a message on failure."""
    from gateway.assets.fetch import asset_path, pull_many
    from gateway.assets.manifest import load_manifest

    manifest = load_manifest()
    assets = [manifest.get(name) for name in DEMO_ASSETS]
    stats = pull_many(assets, cache, mirror=mirror)
    bad = [r for r in stats.results if r.status in ("failed", "mismatch")]
    if bad:
        raise SystemExit("edgepost: cannot get the demo assets:\n  " + "\n  ".join(
            f"{r.name}: {r.detail}" for r in bad))
    return {a.name: asset_path(a, cache) for a in assets}


def demo_cameras(paths: dict[str, Path], realtime: bool) -> dict[str, Any]:
    """Camera sections for the two sample videos."""
    pacing = "realtime" if realtime else "fast"
    detector = {"model": str(paths["coco_ssd_mobilenet_v1"]),
                "labels": str(paths["coco_ssd_mobilenet_v1_labels"])}
    return {
        "hall": {
            "source": {"uri": str(paths["video_one_by_one_person_detection"]), "pacing": pacing},
            "detector": detector,
            "schedule": {"motion_interval_s": 1.0, "refresh_interval_s": 1.5},
            "rules": {"classes": ["person"]},
        },
        "lane": {
            "source": {"uri": str(paths["video_car_detection"]), "pacing": pacing},
            "detector": {**detector, "min_score": 0.4},
            "schedule": {"motion_interval_s": 0.25},
            "rules": {"classes": ["car"], "class_aliases": OVERHEAD_CAR_ALIASES,
                      "lines": [{"name": "gate", "a": [0.0, 0.5], "b": [1.0, 0.5],
                                 "inbound_side": [0.5, 0.0]}]},
            "crops": {"enabled": True, "max_bytes": 8000, "max_side": 160},
        },
    }


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.service.gateway import GatewayService

    try:
        broker = LocalMosquitto()
    except MosquittoNotFoundError as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return 1
    with broker, tempfile.TemporaryDirectory(prefix="edgepost-demo-") as state:
        raw: dict[str, Any] = {
            "mqtt": {"port": broker.port},
            "spool": {"path": str(Path(state) / "spool.sqlite3")},
            "health": {"interval_s": 5.0},
            "device": {"location": {"lat": 31.230416, "lon": 121.473701}},
        }
        if args.synthetic:
            raw["demo"] = {"enabled": True, "interval_s": args.interval}  # off by default
        else:
            cache = Path(os.environ.get("EDGEPOST_ASSET_CACHE") or Path(state) / "assets")
            mirror = _mirror(args.mirror)
            print(f"# demo: pulling assets ({'mirror ' + str(mirror) if mirror else 'download'})",
                  flush=True)
            paths = pull_demo_assets(mirror, cache)
            raw["cameras"] = demo_cameras(paths, args.realtime)
        config = parse_config(raw, source="demo defaults")
        print(f"# demo: private mosquitto on 127.0.0.1:{broker.port}; spool in {state}",
              flush=True)
        counts: dict[str, int] = {}

        def show(msg: Received) -> None:
            if msg.event is not None:
                counts[msg.event.type.label] = counts.get(msg.event.type.label, 0) + 1
            print(format_received(msg, args.json), flush=True)

        sub = EventSubscriber(SubscriberOptions(port=broker.port, include_status=True), show)
        sub.start()
        sub.connected.wait(5)
        service = GatewayService(config)
        run_until_done(service, config, args.duration)
        sub.stop()
        print(f"# demo finished: {service.uplink.stats.acked} event(s) acknowledged by the "
              f"broker; received {counts}", flush=True)
        write_summaries(service, args.out)
    return 0


def run_until_done(service: Any, config: GatewayConfig, duration: float) -> None:
    """Run until every camera's video has ended and the spool is empty, or ``duration``."""
    stop = threading.Event()
    service.start()
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline and not stop.is_set():
            cameras_done = all(c.finished.is_set() for c in service.cameras)
            if config.cameras and cameras_done and service.spool.stats().depth == 0:
                time.sleep(1.0)  # one more health report
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()


def write_summaries(service: Any, out: Path) -> None:
    """Annotated summary image per camera: every track's path and last box, zones, lines."""
    if not service.cameras:
        return
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    for camera in service.cameras:
        image = camera.pipeline.summary_image() if camera.pipeline is not None else None
        if image is None:
            continue
        path = out / f"summary-{camera.name}.jpg"
        cv2.imwrite(str(path), image)
        print(f"# summary image: {path}", flush=True)
