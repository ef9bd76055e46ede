"""Turn a configured model reference (a path or an asset name) into a verified local file."""

from __future__ import annotations

from pathlib import Path

from gateway.assets.fetch import AssetError, AssetVerificationError, asset_path, sha256_file
from gateway.assets.manifest import Manifest, load_manifest


def resolve(
    ref: str,
    *,
    cache_dir: str | Path | None = None,
    manifest: Manifest | None = None,
    verify: bool = True,
) -> Path:
    """Return the file for ``ref``.

    An existing path is used as it is (the operator chose it). Otherwise ``ref`` must be an
    asset name: its cached copy is returned after checking the SHA-256, and a mismatching
    file raises :class:`AssetVerificationError` — a model that is not the one tested is never
    loaded.
    """
    p = Path(ref)
    if p.is_file():
        return p
    m = manifest or load_manifest()
    try:
        asset = m.get(ref)
    except KeyError as exc:
        raise AssetError(f"{ref!r} is neither a file nor a known asset ({exc.args[0]})") from exc
    path = asset_path(asset, cache_dir)
    if not path.is_file():
        raise AssetError(f"asset {ref} is not in the cache at {path}: run `edgepost models pull`")
    if verify:
        actual = sha256_file(path)
        if actual != asset.sha256:
            raise AssetVerificationError(
                f"asset {ref}: cached file {path} has SHA-256 {actual}, expected "
                f"{asset.sha256}; refusing to load it. Run `edgepost models pull --force`."
            )
    return path


def labels_for(ref: str, *, cache_dir: str | Path | None = None,
               manifest: Manifest | None = None) -> Path | None:
    """The verified label map of model asset ``ref`` (None if ``ref`` is a plain path)."""
    if Path(ref).is_file():
        return None
    m = manifest or load_manifest()
    asset = m.get(ref)
    if not asset.labels:
        return None
    return resolve(asset.labels, cache_dir=cache_dir, manifest=m)
