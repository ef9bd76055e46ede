"""Helpers to run firmware on the real MicroPython VM (Node.js + WebAssembly build)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
RUNNER = FIRMWARE / "tools" / "mpvm.mjs"
MP_TESTS = Path(__file__).resolve().parent / "mp"
VECTORS = REPO / "docs" / "vectors" / "nodelink"
MP_PACKAGE = FIRMWARE / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def require_vm() -> str:
    """Path of ``node``; fails (not skips) with the fix when the VM is not installed."""
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        pytest.fail(
            "MicroPython VM missing: run scripts/setup.sh (needs nodejs and `npm install` in "
            "firmware/)"
        )
    return node


def mpvm_cmd(script: Path, arg: str = "null", uart: str | None = None) -> list[str]:
    """Command line that runs ``script`` on the VM with the test board and vectors mounted."""
    cmd = [require_vm(), str(RUNNER), "--mount", f"{MP_TESTS}:/t",
           "--mount", f"{VECTORS}:/vectors", "--arg", arg]
    if uart:
        cmd += ["--uart", uart]
    return [*cmd, str(script)]


def run_mpvm(script: Path, arg: str = "null", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a script on the VM and return the finished process (stdout/stderr as text)."""
    return subprocess.run(mpvm_cmd(script, arg), capture_output=True, text=True,
                          timeout=timeout, cwd=FIRMWARE)
