"""``edgepost gateway check-config``: its output is a configuration file, and it names every
file the configuration reads that is not there.

Round trip: the printed TOML parses back (tomllib) to the same effective configuration for
every configuration the project ships or generates: the full test configuration (with alias
keys that hold spaces and counting lines), the one ``provision gateway`` writes, the HIL rig's
and the built-in defaults.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gateway.assets import load_manifest, pull
from gateway.config import effective_config, parse_config
from gateway.config.paths import missing_paths
from provisioning.gateway_install import GatewayOptions, config_data, render_config
from tests.config.test_frozen import full_raw
from tests.conftest import REPO

SHARED = REPO.parent / "shared"


def check_config(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "gateway", "gateway", "check-config", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def full_with_files(tmp: Path) -> dict[str, Any]:
    """The full test configuration, with every file it names present and awkward keys."""
    raw = full_raw(tmp)
    camera = raw["cameras"]["north"]
    camera["rules"]["class_aliases"] = {"fire truck": "car", "motor.bike": "car", "van": "car"}
    camera["detector"]["class_thresholds"] = {"fire truck": 0.7}
    camera["detector"]["labels"] = str(tmp / "labels.txt")
    for name in ("cam.mp4", "det.tflite", "labels.txt"):
        (tmp / name).write_bytes(b"x")
    return raw


def provisioned(tmp: Path) -> dict[str, Any]:
    opts = GatewayOptions(device_id="cp-north-1", broker_host="broker.site", lat=30.25,
                          lon=120.5, node_link_ports=("/dev/ttyAMA0", "/dev/ttyUSB0"))
    etc = str(opts.etc_dir)
    text = render_config(opts).replace(etc, str(tmp))
    for name in ("ca.pem", "cp-north-1.pem", "cp-north-1.key", "node-keys.toml"):
        (tmp / name).write_text("", encoding="utf-8")
    raw = tomllib.loads(text)
    assert raw == tomllib.loads(tomli_w.dumps(config_data(opts)).replace(etc, str(tmp)))
    return raw


def hil_rig(tmp: Path) -> dict[str, Any]:
    keys = tmp / "nodes.toml"
    keys.write_text("", encoding="utf-8")
    return {"device": {"id": "gw-hil"}, "mqtt": {"host": "127.0.0.1", "port": 18831},
            "spool": {"path": str(tmp / "spool.sqlite3")}, "demo": {"enabled": False},
            "health": {"interval_s": 0.5},
            "sensors": {"node_links": [{"name": "node1", "key_file": str(keys),
                                        "key_reload_interval_s": 0.5,
                                        "serial": {"port": "/dev/pts/9", "baudrate": 115200}}]}}


CONFIGS = {"full": full_with_files, "provisioned": provisioned, "hil-rig": hil_rig,
           "defaults": lambda tmp: {}}


@pytest.mark.parametrize("make", CONFIGS.values(), ids=CONFIGS.keys())
def test_output_parses_back_to_the_same_configuration(tmp_path: Path, make: Any) -> None:
    raw = make(tmp_path)
    src = tmp_path / "gw.toml"
    src.write_text(tomli_w.dumps(raw), encoding="utf-8")
    res = check_config(src)
    assert res.returncode == 0, res.stderr
    header, _, body = res.stdout.partition("\n")
    assert header.startswith("# effective configuration of"), "comments only as a header"
    assert not any(line.lstrip().startswith("#") for line in body.splitlines()), "comment in body"
    again = tomllib.loads(res.stdout)  # valid TOML, all of it
    assert effective_config(parse_config(again)) == effective_config(parse_config(raw))
    # and the printed file checks clean itself (a fixed point)
    second = tmp_path / "again.toml"
    second.write_text(res.stdout, encoding="utf-8")
    res2 = check_config(second)
    assert res2.returncode == 0, res2.stderr
    assert res2.stdout.partition("\n")[2] == body


def test_keys_with_spaces_are_quoted(tmp_path: Path) -> None:
    src = tmp_path / "gw.toml"
    src.write_text(tomli_w.dumps(full_with_files(tmp_path)), encoding="utf-8")
    out = check_config(src).stdout
    assert '"fire truck" = "car"' in out and '"motor.bike" = "car"' in out


@pytest.mark.parametrize(("key", "where"), [
    ("video", "cameras.north.source.uri"),
    ("model", "cameras.north.detector.model"),
    ("labels", "cameras.north.detector.labels"),
    ("node keys", "sensors.node_links[0].key_file"),
])
def test_every_missing_path_is_named(tmp_path: Path, key: str, where: str) -> None:
    raw = full_with_files(tmp_path)
    camera = raw["cameras"]["north"]
    missing = str(tmp_path / "nowhere" / "x.bin")
    if key == "video":
        camera["source"]["uri"] = missing
    elif key == "model":
        camera["detector"]["model"] = missing
    elif key == "labels":
        camera["detector"]["labels"] = missing
    else:
        raw["sensors"]["node_links"][0]["key_file"] = missing
    src = tmp_path / "gw.toml"
    src.write_text(tomli_w.dumps(raw), encoding="utf-8")
    res = check_config(src)
    assert res.returncode == 2
    assert f"{where}: " in res.stderr and missing in res.stderr, res.stderr
    assert res.stderr.count("\n  ") == 1, "only the bad path is reported"
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_plate_key_and_folder_sources_are_checked(tmp_path: Path) -> None:
    raw = full_with_files(tmp_path)
    camera = raw["cameras"]["north"]
    camera["source"] = {"kind": "folder", "uri": str(tmp_path / "frames")}
    camera["plates"]["privacy"] = {"mode": "hash", "key_file": str(tmp_path / "privacy.key")}
    problems = missing_paths(parse_config(raw))
    assert problems == [
        f"cameras.north.source.uri: {tmp_path}/frames: no such folder of images; fix the path",
        f"cameras.north.plates.privacy.key_file: {tmp_path}/privacy.key: no such file; fix "
        "the path or create the file",
    ]


def test_device_and_stream_sources_are_not_files(tmp_path: Path) -> None:
    raw = full_with_files(tmp_path)
    for uri in ("0", "/dev/video7", "rtsp://cam.site/stream"):
        raw["cameras"]["north"]["source"]["uri"] = uri
        assert missing_paths(parse_config(raw)) == []


@pytest.mark.skipif(not (SHARED / "models").is_dir(), reason="needs ../shared/models")
def test_labels_and_model_accept_asset_names(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    manifest = load_manifest()
    raw = full_with_files(tmp_path)
    raw["cameras"]["north"]["detector"].update(model="coco_ssd_mobilenet_v1",
                                               labels="coco_ssd_mobilenet_v1_labels")
    src = tmp_path / "gw.toml"
    src.write_text(tomli_w.dumps(raw), encoding="utf-8")
    res = check_config(src, EDGEPOST_ASSET_CACHE=str(cache))
    assert res.returncode == 2
    assert "cameras.north.detector.model: asset coco_ssd_mobilenet_v1 is not in the cache" in res.stderr
    assert "cameras.north.detector.labels: asset coco_ssd_mobilenet_v1_labels is not in the cache" \
        in res.stderr and "edgepost models pull" in res.stderr

    for name in ("coco_ssd_mobilenet_v1", "coco_ssd_mobilenet_v1_labels"):
        pull(manifest.get(name), cache, mirror=SHARED)
    res = check_config(src, EDGEPOST_ASSET_CACHE=str(cache))
    assert res.returncode == 0, res.stderr
    raw["cameras"]["north"]["detector"]["labels"] = "coco_labels_typo"
    src.write_text(tomli_w.dumps(raw), encoding="utf-8")
    res = check_config(src, EDGEPOST_ASSET_CACHE=str(cache))
    assert res.returncode == 2
    assert "'coco_labels_typo' is neither a file nor a known asset" in res.stderr

    # the detector itself reads a label map named by asset
    from gateway.vision.config import DetectorConfig
    from gateway.vision.detector import Detector

    det = Detector(DetectorConfig(model="coco_ssd_mobilenet_v1",
                                  labels="coco_ssd_mobilenet_v1_labels"), asset_cache=cache)
    assert det.label(0) == "person"
