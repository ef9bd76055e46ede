"""Fetch assets into the cache: from a mirror folder or the URL, always SHA-256 verified."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gateway.assets.manifest import Asset

log = logging.getLogger(__name__)

MIRROR_ENV = "EDGEPOST_ASSET_MIRROR"
CACHE_ENV = "EDGEPOST_ASSET_CACHE"


class AssetError(RuntimeError):
    """An asset could not be obtained."""


class AssetVerificationError(AssetError):
    """A file's SHA-256 does not match the manifest: it is refused, never used."""


@dataclass
class PullResult:
    """Outcome for one asset."""

    name: str
    path: Path
    status: str  # "cached" | "mirror" | "downloaded" | "failed" | "mismatch"
    message: str = ""


@dataclass
class PullStats:
    """Counters over one or more pulls (exposed in health and the CLI summary)."""

    cached: int = 0
    mirror: int = 0
    downloaded: int = 0
    failed: int = 0
    mismatch: int = 0
    results: list[PullResult] = field(default_factory=list)

    def add(self, result: PullResult) -> None:
        """Count one result."""
        setattr(self, result.status, getattr(self, result.status) + 1)
        self.results.append(result)

    @property
    def ok(self) -> bool:
        """True when nothing failed or mismatched."""
        return self.failed == 0 and self.mismatch == 0


def default_cache_dir() -> Path:
    """``$EDGEPOST_ASSET_CACHE``, else ``$XDG_CACHE_HOME/edgepost/assets`` (~/.cache/...)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgepost" / "assets"


def default_mirror() -> Path | None:
    """``$EDGEPOST_ASSET_MIRROR`` as a path, or None."""
    env = os.environ.get(MIRROR_ENV)
    return Path(env) if env else None


def asset_path(asset: Asset, cache_dir: str | Path | None = None) -> Path:
    """Where ``asset`` lives in the cache (it may not be there yet)."""
    return Path(cache_dir or default_cache_dir()) / asset.path


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mismatch_message(asset: Asset, origin: str, actual: str) -> str:
    return (
        f"asset {asset.name}: SHA-256 mismatch for {origin}: expected {asset.sha256}, got "
        f"{actual}. The file was refused (not installed). Re-download it, or fix the mirror "
        f"copy; never edit the manifest hash to make a file pass."
    )


def _copy_stream(src: BinaryIO, dst: BinaryIO) -> None:
    shutil.copyfileobj(src, dst, 1 << 20)


def _download(url: str, dst: Path, timeout: float) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "edgepost-models-pull"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, dst.open("wb") as out:
        _copy_stream(resp, out)


def _extract_member(archive: Path, member: str, dst: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        match = member if member in names else next(
            (n for n in names if n.rsplit("/", 1)[-1] == member), None
        )
        if match is None:
            raise AssetError(f"{archive.name} has no member {member!r} (has {names[:10]})")
        with zf.open(match) as src, dst.open("wb") as out:
            _copy_stream(src, out)


def _install(asset: Asset, tmp: Path, target: Path, origin: str) -> None:
    actual = sha256_file(tmp)
    if actual != asset.sha256:
        tmp.unlink(missing_ok=True)
        raise AssetVerificationError(_mismatch_message(asset, origin, actual))
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)  # atomic: a reader never sees half a model


def pull(
    asset: Asset,
    cache_dir: str | Path | None = None,
    *,
    mirror: str | Path | None = None,
    timeout: float = 60.0,
    force: bool = False,
) -> PullResult:
    """Make ``asset`` present and verified in the cache.

    Order: a verified cached copy is kept; else the mirror copy at ``mirror/<path>`` (mirrors
    hold the extracted file, never the zip); else the URL.
    Raises :class:`AssetVerificationError` when the only copy found has the wrong hash and
    :class:`AssetError` when no copy can be obtained.
    """
    target = asset_path(asset, cache_dir)
    if target.exists() and not force:
        actual = sha256_file(target)
        if actual == asset.sha256:
            return PullResult(asset.name, target, "cached")
        log.warning("%s", _mismatch_message(asset, f"cached {target}", actual) + " Re-fetching.")
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        mirror_dir = Path(mirror) if mirror else default_mirror()
        if mirror_dir is not None:
            src = mirror_dir / asset.path
            if src.is_file():
                shutil.copyfile(src, tmp)
                _install(asset, tmp, target, f"mirror copy {src}")
                return PullResult(asset.name, target, "mirror", str(src))
            if not asset.url:
                raise AssetError(f"asset {asset.name}: not in mirror {mirror_dir} and has no URL")
            log.info("asset %s: not in mirror %s, downloading", asset.name, mirror_dir)
        if not asset.url:
            raise AssetError(
                f"asset {asset.name} is mirror-only: pass --mirror DIR or set {MIRROR_ENV}"
            )
        try:
            if asset.archive_member:
                archive = tmp.with_suffix(".zip")
                try:
                    _download(asset.url, archive, timeout)
                    _extract_member(archive, asset.archive_member, tmp)
                finally:
                    archive.unlink(missing_ok=True)
            else:
                _download(asset.url, tmp, timeout)
        except (OSError, zipfile.BadZipFile) as exc:
            raise AssetError(
                f"asset {asset.name}: download from {asset.url} failed ({exc}); for offline "
                f"installs pass --mirror DIR or set {MIRROR_ENV}"
            ) from exc
        _install(asset, tmp, target, f"download {asset.url}")
        return PullResult(asset.name, target, "downloaded", asset.url)
    finally:
        tmp.unlink(missing_ok=True)


def pull_many(
    assets: list[Asset],
    cache_dir: str | Path | None = None,
    *,
    mirror: str | Path | None = None,
    timeout: float = 60.0,
    force: bool = False,
    stats: PullStats | None = None,
) -> PullStats:
    """Pull each asset; one failure does not stop the others. Returns the counters."""
    stats = stats or PullStats()
    cache = Path(cache_dir or default_cache_dir())
    for asset in assets:
        try:
            stats.add(pull(asset, cache, mirror=mirror, timeout=timeout, force=force))
        except AssetVerificationError as exc:
            log.error("%s", exc)
            stats.add(PullResult(asset.name, asset_path(asset, cache), "mismatch", str(exc)))
        except AssetError as exc:
            log.error("%s", exc)
            stats.add(PullResult(asset.name, asset_path(asset, cache), "failed", str(exc)))
    return stats


def read_verified(path: str | Path, sha256: str) -> bytes:
    """Read a small file and check its hash (for loading a model straight from a path)."""
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise AssetVerificationError(
            f"{path}: SHA-256 mismatch: expected {sha256}, got {actual}; refusing to load it"
        )
    return data
