"""Asset manifest, `edgepost models pull`, mirror and SHA-256 refusal."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.assets import (
    AssetVerificationError,
    Manifest,
    load_manifest,
    pull,
    pull_many,
    sha256_file,
)
from gateway.assets.fetch import AssetError
from gateway.assets.resolve import resolve
from gateway.cli import models_cmd
from gateway.vision.config import DetectorConfig
from gateway.vision.detector import Detector

SSD_SHA = "e4b118e5e4531945de2e659742c7c590f7536f8d0ed26d135abcfe83b4779d13"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest()


def run_cli(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    models_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_manifest_matches_the_shared_mirror(manifest: Manifest, shared: Path) -> None:
    ssd = manifest.get("coco_ssd_mobilenet_v1")
    assert ssd.sha256 == SSD_SHA
    assert ssd.license == "Apache-2.0"
    assert "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29" in (ssd.url or "")
    assert ssd.input is not None and (ssd.input.width, ssd.input.height) == (300, 300)
    assert ssd.output is not None and ssd.output.decoder == "ssd"
    assert manifest.get(ssd.labels or "").kind == "labels"
    # ../shared is laid out as the mirror: every asset is at <mirror>/<path> with its hash.
    for asset in manifest.asset:
        assert asset.license
        if asset.kind == "source":  # conversion sources come from their package registry
            assert asset.url and asset.url.startswith("https://files.pythonhosted.org/"), asset.name
            continue
        assert sha256_file(shared / asset.path) == asset.sha256, asset.name


def test_pull_from_mirror_then_cached(tmp_path: Path, shared: Path, capsys) -> None:
    cache = tmp_path / "cache"
    assert run_cli(["models", "pull", "--mirror", str(shared), "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "3 from mirror" in out  # SSD, its labels, the y5fu plate detector
    assert sha256_file(cache / "models/coco_ssd_mobilenet_v1/detect.tflite") == SSD_SHA
    assert run_cli(["models", "pull", "--mirror", str(shared), "--cache", str(cache)]) == 0
    assert "3 cached" in capsys.readouterr().out
    assert run_cli(["models", "list", "--cache", str(cache), "--verify"]) == 0
    assert " ok " in capsys.readouterr().out


def test_mirror_from_environment(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch, manifest: Manifest
) -> None:
    monkeypatch.setenv("EDGEPOST_ASSET_MIRROR", str(shared))
    monkeypatch.setenv("EDGEPOST_ASSET_CACHE", str(tmp_path / "c"))
    assert run_cli(["models", "pull", "video_car_detection"]) == 0
    assert (tmp_path / "c/media/video/car-detection.mp4").is_file()


def test_mismatching_mirror_file_is_refused_and_counted(
    tmp_path: Path, shared: Path, manifest: Manifest, capsys
) -> None:
    mirror = tmp_path / "mirror"
    for asset in manifest.select({"model", "labels"}):
        (mirror / asset.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / asset.path, mirror / asset.path)
    model = mirror / manifest.get("coco_ssd_mobilenet_v1").path
    data = bytearray(model.read_bytes())
    data[1000] ^= 0xFF  # one flipped byte
    model.write_bytes(bytes(data))

    cache = tmp_path / "cache"
    stats = pull_many(manifest.select({"model", "labels"}), cache, mirror=mirror)
    assert stats.mismatch == 1 and stats.mirror == 2 and not stats.ok
    assert not (cache / "models/coco_ssd_mobilenet_v1/detect.tflite").exists()  # never installed
    assert (cache / "models/coco_ssd_mobilenet_v1/labelmap.txt").exists()  # the rest went on
    with pytest.raises(AssetVerificationError, match=r"SHA-256 mismatch.*refused"):
        pull(manifest.get("coco_ssd_mobilenet_v1"), cache, mirror=mirror)

    rc = run_cli(["models", "pull", "--mirror", str(mirror), "--cache", str(cache)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "1 refused (SHA-256 mismatch)" in captured.out
    assert "mismatch" in captured.err and "expected " + SSD_SHA in captured.err


def test_tampered_cached_model_is_not_loaded(
    tmp_path: Path, shared: Path, manifest: Manifest
) -> None:
    cache = tmp_path / "cache"
    assert pull_many(manifest.select({"model", "labels"}), cache, mirror=shared).ok
    det = Detector(DetectorConfig(model="coco_ssd_mobilenet_v1"), asset_cache=cache)
    assert det.label(0) == "person"  # label map found through the manifest
    target = cache / manifest.get("coco_ssd_mobilenet_v1").path
    target.write_bytes(target.read_bytes()[:-10])  # truncated on disk
    with pytest.raises(AssetVerificationError, match="refusing to load"):
        Detector(DetectorConfig(model="coco_ssd_mobilenet_v1"), asset_cache=cache)
    with pytest.raises(AssetError, match="neither a file nor a known asset"):
        resolve("no_such_model", cache_dir=cache)
    # a later pull repairs the cache
    assert pull(manifest.get("coco_ssd_mobilenet_v1"), cache, mirror=shared).status == "mirror"


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_download_zip_member_over_http(
    http_root: tuple[Path, str], tmp_path: Path, shared: Path, manifest: Manifest
) -> None:
    root, base = http_root
    with zipfile.ZipFile(root / "ssd.zip", "w") as zf:
        zf.write(shared / "models/coco_ssd_mobilenet_v1/detect.tflite", "detect.tflite")
        zf.write(shared / "models/coco_ssd_mobilenet_v1/labelmap.txt", "labelmap.txt")
    ssd = manifest.get("coco_ssd_mobilenet_v1").model_copy(update={"url": f"{base}/ssd.zip"})
    res = pull(ssd, tmp_path / "cache")
    assert res.status == "downloaded"
    assert sha256_file(res.path) == SSD_SHA

    # a server that hands out a different file: refused
    (root / "video.mp4").write_bytes(b"\x00" * 1000)
    video = manifest.get("video_car_detection").model_copy(update={"url": f"{base}/video.mp4"})
    with pytest.raises(AssetVerificationError):
        pull(video, tmp_path / "cache")
    assert not (tmp_path / "cache" / video.path).exists()

    # unreachable URL: clear error that names the offline option
    gone = video.model_copy(update={"url": f"{base}/missing.mp4"})
    with pytest.raises(AssetError, match="--mirror"):
        pull(gone, tmp_path / "cache")
