"""Signed update bundles: Ed25519 over a manifest of file hashes.

A bundle is a tar file::

    manifest.json   {"format": 1, "target": "gateway"|"node", "version": "1.4.0",
                     "created": "...", "files": [{"path", "sha256", "size"}, ...]}
    manifest.sig    64-byte Ed25519 signature of manifest.json, exactly as stored
    payload/<path>  the files

A device accepts a bundle only if the signature verifies with the site's public key, every
payload file has the listed hash and size, no file is missing or extra, no path escapes the
target folder, and the version is newer than the installed one (unless forced). The check
reads hashes from the signed manifest, never from the tar headers, so a tampered tar cannot
smuggle anything past it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.textfile import read_utf8
from provisioning.secrets import check_private, private_dir, write_public, write_secret

FORMAT = 1
TARGETS = ("gateway", "node")
VERSION_RE = re.compile(r"^\d+(\.\d+){0,3}$")
MAX_FILES = 10_000


class BundleError(ValueError):
    """The bundle is refused; ``reason`` is one word for scripts and counters."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"bundle refused ({reason}): {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Manifest:
    target: str
    version: str
    created: str
    files: dict[str, tuple[str, int]]  # path -> (sha256 hex, size)


def parse_version(v: str) -> tuple[int, ...]:
    """``"1.4.0"`` -> ``(1, 4, 0)``; plain dotted integers only (no ambiguity in ordering)."""
    if not VERSION_RE.match(v):
        raise BundleError("version", f"{v!r} is not a dotted version like 1.4.0")
    parts = tuple(int(x) for x in v.split("."))
    return parts + (0,) * (4 - len(parts))


def init_signing_key(directory: Path) -> tuple[Path, bool]:
    """Create ``bundle.key`` (0600) and ``bundle.pub`` unless present; (pub path, created)."""
    private_dir(directory)
    key_path, pub_path = directory / "bundle.key", directory / "bundle.pub"
    if key_path.exists():
        return pub_path, False
    key = Ed25519PrivateKey.generate()
    write_secret(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    write_public(pub_path, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    return pub_path, True


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    check_private(path)
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError("key", f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("key", f"{path} is not an Ed25519 public key")
    return key


def _safe_path(p: str) -> str:
    pp = PurePosixPath(p)
    if pp.is_absolute() or ".." in pp.parts or not pp.parts or p != pp.as_posix() or "\\" in p:
        raise BundleError("path", f"unsafe path {p!r}")
    return p


def _collect(sources: list[Path]) -> dict[str, Path]:
    """Bundle path -> local file: a file by its name, a folder's files relative to it."""
    out: dict[str, Path] = {}
    for src in sources:
        if src.is_dir():
            for f in sorted(src.rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    out[f.relative_to(src).as_posix()] = f
        elif src.is_file():
            out[src.name] = src
        else:
            raise FileNotFoundError(f"no such file or folder: {src}")
    return out


def create_bundle(out: Path, sources: list[Path], target: str, version: str,
                  key: Ed25519PrivateKey) -> Manifest:
    """Write a signed bundle of ``sources`` to ``out``."""
    if target not in TARGETS:
        raise BundleError("target", f"target must be one of {TARGETS}")
    parse_version(version)
    files = _collect(sources)
    entries = []
    for path, local in files.items():
        data = local.read_bytes()
        entries.append({"path": _safe_path(path), "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data)})
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = json.dumps({"format": FORMAT, "target": target, "version": version, "created": created,
                           "files": entries}, indent=1, sort_keys=True).encode()
    sig = key.sign(manifest)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, "w") as tar:
        for name, data in (("manifest.json", manifest), ("manifest.sig", sig)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for path, local in files.items():
            info = tar.gettarinfo(str(local), arcname=f"payload/{path}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with local.open("rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, out)
    return _parse_manifest(manifest)


def _parse_manifest(raw: bytes) -> Manifest:
    try:
        m = json.loads(raw)
        if m.get("format") != FORMAT:
            raise BundleError("format", f"unknown bundle format {m.get('format')!r}")
        files = {_safe_path(e["path"]): (str(e["sha256"]), int(e["size"])) for e in m["files"]}
        if len(files) != len(m["files"]) or len(files) > MAX_FILES:
            raise BundleError("manifest", "duplicate paths or too many files")
        parse_version(m["version"])
        return Manifest(str(m["target"]), str(m["version"]), str(m.get("created", "")), files)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError("manifest", f"malformed manifest ({exc.__class__.__name__})") from None


def read_bundle(path: Path, public_key: Ed25519PublicKey) -> tuple[Manifest, dict[str, bytes]]:
    """Verify signature and every file; return the manifest and the payload (in memory)."""
    try:
        tar = tarfile.open(path, "r")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise BundleError("unreadable", f"{path}: {exc}") from None
    with tar:
        members = {m.name: m for m in tar.getmembers()}
        if "manifest.json" not in members:
            raise BundleError("unsigned", "no manifest.json")
        if "manifest.sig" not in members:
            raise BundleError("unsigned", "no manifest.sig: the bundle is not signed")
        raw = _read(tar, members["manifest.json"])
        sig = _read(tar, members["manifest.sig"])
        try:
            public_key.verify(sig, raw)
        except InvalidSignature:
            raise BundleError("signature", "the manifest signature does not verify with the site key "
                              "(tampered manifest, or signed by another key)") from None
        manifest = _parse_manifest(raw)
        payload: dict[str, bytes] = {}
        for name, member in members.items():
            if name in ("manifest.json", "manifest.sig"):
                continue
            if not name.startswith("payload/") or not member.isfile():
                raise BundleError("tampered", f"unexpected entry {name!r}")
            rel = name[len("payload/"):]
            if rel not in manifest.files:
                raise BundleError("tampered", f"file {rel!r} is not in the signed manifest")
            data = _read(tar, member)
            want_hash, want_size = manifest.files[rel]
            if len(data) != want_size or hashlib.sha256(data).hexdigest() != want_hash:
                raise BundleError("tampered", f"file {rel!r} does not match its signed hash")
            payload[rel] = data
        missing = set(manifest.files) - set(payload)
        if missing:
            raise BundleError("tampered", f"files missing: {sorted(missing)[:5]}")
    return manifest, payload


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    if f is None:
        raise BundleError("tampered", f"{member.name} is not a regular file")
    return f.read()


def check_version(manifest: Manifest, installed: str | None, force: bool = False) -> None:
    """Refuse a downgrade or a re-install of the same version unless ``force``."""
    if installed is None or force:
        return
    if parse_version(manifest.version) <= parse_version(installed):
        raise BundleError("downgrade", f"bundle version {manifest.version} is not newer than the "
                          f"installed {installed} (use --force to roll back on purpose)")


def verify_bundle(path: Path, public_key: Ed25519PublicKey, *, target: str | None = None,
                  installed: str | None = None, force: bool = False) -> Manifest:
    """Everything a device checks before installing; raises :class:`BundleError`."""
    manifest, _ = read_bundle(path, public_key)
    if target is not None and manifest.target != target:
        raise BundleError("target", f"bundle is for {manifest.target}, not {target}")
    check_version(manifest, installed, force)
    return manifest


def _installed_version(state: Path) -> str | None:
    """The version ``installed.json`` names; None before the first install."""
    if not state.exists():
        return None
    try:
        version = json.loads(read_utf8(state))["version"]
        if not isinstance(version, str):
            raise TypeError("version is not a text")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # the downgrade check needs it: refuse rather than take any version
        raise BundleError("state", f"{state} is damaged ({exc}), so the installed version is "
                          "unknown; install with --force to write it again") from None
    return version


def install_bundle(path: Path, public_key: Ed25519PublicKey, dest: Path, *, target: str,
                   force: bool = False) -> Manifest:
    """Device side: verify, then unpack into ``dest/<version>/`` and point ``dest/current``
    at it atomically; the installed version is read from ``dest/installed.json``.

    Nothing is written before every check has passed, and the switch is one rename, so a
    power cut leaves either the old or the new version in use.
    """
    state = dest / "installed.json"
    installed = None if force else _installed_version(state)  # forced: no version check
    manifest, payload = read_bundle(path, public_key)
    if manifest.target != target:
        raise BundleError("target", f"bundle is for {manifest.target}, not {target}")
    check_version(manifest, installed, force)
    vdir = dest / manifest.version
    vdir.mkdir(parents=True, exist_ok=True)
    for rel, data in payload.items():
        f = vdir / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    link_tmp = dest / ".current.tmp"
    link_tmp.unlink(missing_ok=True)
    link_tmp.symlink_to(manifest.version)
    os.replace(link_tmp, dest / "current")
    write_public(state, json.dumps({"version": manifest.version, "target": target}))
    return manifest
