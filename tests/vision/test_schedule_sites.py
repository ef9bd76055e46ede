"""The shipped rule sets (docs/sites/*.toml) load with `check-config` and do what they say.

Each file names the files a provisioned gateway has under /etc/edgepost (broker certificates,
the watch-list key and compiled list); the test makes those under a temporary folder and
points the file there, pulls the detector assets from the shared mirror, and runs the real
command. Then the rules are exercised on the sample videos, replayed at chosen site times.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.assets import load_manifest, pull
from gateway.config import GatewayConfig, load_config
from gateway.plates.watchlist import WatchEntry, compile_watchlist
from gateway.strict import revalidated
from gateway.vision.config import VisionCameraConfig
from gateway.vision.events import LineCrossing, VisionEvent, ZoneIntrusion
from gateway.vision.pipeline import CameraPipeline
from gateway.vision.schedule import LevelController
from tests.conftest import REPO
from tests.vision.conftest import CAR_VIDEO, PERSON_VIDEO, shared_dir

SITES = REPO / "docs" / "sites"
ETC = "/etc/edgepost/"


@pytest.fixture(scope="module")
def asset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("assets")
    manifest = load_manifest()
    for name in ("coco_ssd_mobilenet_v1", "coco_ssd_mobilenet_v1_labels"):
        pull(manifest.get(name), cache, mirror=shared_dir())
    return cache


def provisioned(site: str, tmp: Path) -> Path:
    """The shipped file with /etc/edgepost/ moved under ``tmp``, its files made there."""
    text = (SITES / f"{site}.toml").read_text(encoding="utf-8")
    etc = tmp / "etc"
    etc.mkdir()
    key = os.urandom(32)
    compiled = compile_watchlist([WatchEntry(pattern="京A12345", label="case-1")], key)
    named = {part for line in text.splitlines() for part in line.split('"')
             if part.startswith(ETC)}
    for name in named:
        path = etc / name[len(ETC):]
        if name.endswith("watchlist.key"):
            path.write_text(key.hex(), encoding="utf-8")
        elif name.endswith("watchlist.json"):
            path.write_text(compiled.to_json(), encoding="utf-8")
        else:  # broker certificates: check-config needs them present
            path.write_text("", encoding="utf-8")
    out = tmp / f"{site}.toml"
    out.write_text(text.replace(ETC, f"{etc}/").replace("/var/lib/edgepost/", f"{tmp}/var/"),
                   encoding="utf-8")
    return out


@pytest.mark.parametrize("site", ["reservoir", "checkpoint"])
def test_shipped_site_passes_check_config(site: str, tmp_path: Path, asset_cache: Path) -> None:
    path = provisioned(site, tmp_path)
    res = subprocess.run([sys.executable, "-m", "gateway", "gateway", "check-config", str(path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "EDGEPOST_ASSET_CACHE": str(asset_cache)})
    assert res.returncode == 0, res.stderr
    assert "[site]" in res.stdout and "level_overrides" in res.stdout


def on_video(cam: VisionCameraConfig, video: str, start: str, **rules: object) -> VisionCameraConfig:
    """The shipped camera reading a sample video replayed from site time ``start``."""
    source = revalidated(cam.source, uri=str(shared_dir() / video), pacing="fast",
                         start_time=start)
    changes: dict[str, object] = {"source": source, "plates": None}
    if rules:
        changes["rules"] = revalidated(cam.rules, **rules)
    return revalidated(cam, **changes)


def run(config: GatewayConfig, name: str, cam: VisionCameraConfig, cache: Path,
        frames: int, levels: LevelController | None = None) -> list[VisionEvent]:
    events: list[VisionEvent] = []
    pipe = CameraPipeline(name, cam, events.append, asset_cache=cache, site=config.site,
                          level=levels.level_at if levels else None)
    pipe.run(max_frames=frames)
    return events


@pytest.mark.parametrize(("start", "expected"), [("2026-12-02T02:00:00+08:00", ["shoreline"]),
                                                  ("2026-12-02T14:00:00+08:00", [])])
def test_reservoir_person_in_the_shoreline_zone_at_night_only(
        tmp_path: Path, asset_cache: Path, start: str, expected: list[str]) -> None:
    config = load_config(provisioned("reservoir", tmp_path))
    # The hall in the sample video stands in for the bank: its floor is the shoreline.
    cam = on_video(config.cameras["shore"], PERSON_VIDEO, start)
    events = run(config, "shore", cam, asset_cache, 200)  # the first person, 6.5-19.5 s
    zones = [e.zone for e in events if isinstance(e, ZoneIntrusion)]
    assert zones == expected


def test_reservoir_heightened_level_lowers_the_bank_limits(tmp_path: Path) -> None:
    config = load_config(provisioned("reservoir", tmp_path))
    shore = config.cameras["shore"]
    high = shore.for_level("heightened")
    bank = {z.name: z for z in high.rules.zones}["bank"]
    assert (bank.loiter_s, bank.crowd_threshold, high.detector.min_score) == (120.0, 3, 0.4)
    assert {z.name: z for z in shore.rules.zones}["bank"].loiter_s == 300.0  # untouched
    # Friday 23:00 is heightened by the schedule, Tuesday 23:00 is not.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    fri = datetime(2026, 12, 4, 23, tzinfo=tz).timestamp()
    tue = datetime(2026, 12, 1, 23, tzinfo=tz).timestamp()
    assert config.site.scheduled_level(fri) == "heightened"
    assert config.site.scheduled_level(tue) == "normal"


def test_checkpoint_counts_both_directions_and_arms_the_approach_only_when_heightened(
        tmp_path: Path, asset_cache: Path) -> None:
    config = load_config(provisioned("checkpoint", tmp_path))
    # The sample lane is filmed from above, where COCO SSD calls cars phones or suitcases:
    # this view's aliases are added, the rest is the shipped camera.
    lane = on_video(config.cameras["lane"], CAR_VIDEO, "2026-12-01T10:00:00+08:00",
                    class_aliases={"cell phone": "car", "suitcase": "car", "parking meter": "car"},
                    classes=["car"])
    levels = LevelController(config.site)
    levels.set_level("heightened")  # the lower thresholds of the heightened level
    events = run(config, "lane", lane, asset_cache, 10_000, levels)
    directions = [e.direction for e in events if isinstance(e, LineCrossing)]
    assert directions == ["inbound", "outbound", "inbound", "outbound"]
    approach = config.cameras["approach"]
    assert approach.levels == ("heightened",)
    levels.set_level(None)
    person = on_video(approach, PERSON_VIDEO, "2026-12-01T10:00:00+08:00",
                      zones=[{"name": "barrier", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]],
                              "intrusion": True}])
    assert run(config, "approach", person, asset_cache, 200, levels) == []  # normal: disarmed
    levels.set_level("heightened")
    hits = run(config, "approach", person, asset_cache, 200, levels)
    assert [type(e) for e in hits] == [ZoneIntrusion]
