"""``edgepost models``: list the asset manifest and pull (download + verify) assets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.assets.fetch import (
    MIRROR_ENV,
    asset_path,
    default_cache_dir,
    default_mirror,
    pull_many,
    sha256_file,
)
from gateway.assets.manifest import Asset, load_manifest


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--manifest", type=Path, default=None,
        help="asset manifest (default: models/assets.toml of this installation)",
    )
    p.add_argument(
        "--cache", type=Path, default=None,
        help=f"asset cache directory (default: {default_cache_dir()})",
    )


def _selected(args: argparse.Namespace) -> list[Asset]:
    manifest = load_manifest(args.manifest)
    if args.names:
        return [manifest.get(n) for n in args.names]
    kinds = {"model", "labels"}
    if getattr(args, "samples", False) or getattr(args, "all", False):
        kinds.add("sample")
    return manifest.select(kinds)


def cmd_list(args: argparse.Namespace) -> int:
    """Print every asset with its cache state."""
    try:
        assets = _selected(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"edgepost models list: {exc}", file=sys.stderr)
        return 2
    cache = args.cache or default_cache_dir()
    print(f"{'NAME':44} {'KIND':7} {'STATE':9} {'LICENSE':28} PATH")
    for a in assets:
        path = asset_path(a, cache)
        if not path.exists():
            state = "missing"
        elif args.verify:
            state = "ok" if sha256_file(path) == a.sha256 else "MISMATCH"
        else:
            state = "present"
        print(f"{a.name:44} {a.kind:7} {state:9} {a.license[:28]:28} {a.path}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    """Fetch the selected assets into the cache; exit 1 if any failed or mismatched."""
    try:
        assets = _selected(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"edgepost models pull: {exc}", file=sys.stderr)
        return 2
    cache = args.cache or default_cache_dir()
    mirror = args.mirror or default_mirror()
    stats = pull_many(assets, cache, mirror=mirror, timeout=args.timeout, force=args.force)
    for r in stats.results:
        line = f"{r.status:10} {r.name}"
        if r.status in ("failed", "mismatch"):
            line += f": {r.message}"
        else:
            line += f" -> {r.path}"
        print(line, file=sys.stderr if r.status in ("failed", "mismatch") else sys.stdout)
    print(
        f"pulled {len(stats.results)} assets into {cache}: {stats.cached} cached, "
        f"{stats.mirror} from mirror, {stats.downloaded} downloaded, {stats.mismatch} refused "
        f"(SHA-256 mismatch), {stats.failed} failed"
    )
    return 0 if stats.ok else 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Attach ``models`` with ``list`` and ``pull``."""
    group = subparsers.add_parser(
        "models", help="list and pull models and sample media (asset manifest)",
        description="Models and sample media from the asset manifest, verified by SHA-256.",
    )
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(title="models commands", metavar="COMMAND")

    p_list = sub.add_parser("list", help="show the manifest and what is in the cache")
    _common(p_list)
    p_list.add_argument("names", nargs="*", help="asset names (default: models and labels)")
    p_list.add_argument("--all", action="store_true", help="include sample media")
    p_list.add_argument("--verify", action="store_true", help="check SHA-256 of cached files")
    p_list.set_defaults(func=cmd_list)

    p_pull = sub.add_parser(
        "pull", help="download and verify assets into the cache",
        description=(
            "Download assets (default: all models and label maps) into the cache and verify "
            f"their SHA-256. Offline: --mirror DIR or {MIRROR_ENV}=DIR, where each asset lies "
            "at DIR/<path> (../shared is laid out as such a mirror)."
        ),
    )
    _common(p_pull)
    p_pull.add_argument("names", nargs="*", help="asset names (default: models and labels)")
    p_pull.add_argument("--samples", action="store_true", help="also pull sample media")
    p_pull.add_argument("--mirror", type=Path, default=None, help="offline mirror directory")
    p_pull.add_argument("--force", action="store_true", help="fetch again even if cached")
    p_pull.add_argument("--timeout", type=float, default=60.0, help="network timeout, seconds")
    p_pull.set_defaults(func=cmd_pull)
