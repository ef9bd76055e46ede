"""Models and sample media: the asset manifest, download/mirror, SHA-256 verification.

See ``models/assets.toml``. :func:`pull` fetches one asset into the cache, from an offline
mirror when one is given (``--mirror`` / ``EDGEPOST_ASSET_MIRROR``) or from its URL, and
refuses a file whose SHA-256 does not match.
"""

from gateway.assets.fetch import (
    AssetError,
    AssetVerificationError,
    PullResult,
    PullStats,
    asset_path,
    default_cache_dir,
    default_mirror,
    pull,
    pull_many,
    sha256_file,
)
from gateway.assets.manifest import Asset, InputSpec, Manifest, default_manifest_path, load_manifest

__all__ = [
    "Asset",
    "AssetError",
    "AssetVerificationError",
    "InputSpec",
    "Manifest",
    "PullResult",
    "PullStats",
    "asset_path",
    "default_cache_dir",
    "default_manifest_path",
    "default_mirror",
    "load_manifest",
    "pull",
    "pull_many",
    "sha256_file",
]
