"""Type-check the firmware against the MicroPython stubs for ESP32 and rp2 (Pico W).

usage: python firmware/tools/typecheck.py [esp32] [rp2]

Stubs are installed on first use with ``pip install --target firmware/typings/<port>``
(git-ignored) and then pointed at as mypy's typeshed, so CPython's own stdlib stubs do not
leak in: code that uses a CPython-only module or a wrong ``machine`` signature fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[1]
TYPINGS = FIRMWARE / "typings"
STUBS = {"esp32": "micropython-esp32-stubs~=1.29.0", "rp2": "micropython-rp2-stubs~=1.29.0"}
TARGETS = ["epnode", "board", "main.py"]


def ensure_stubs(port: str) -> Path:
    """Install the stub package for ``port`` into firmware/typings/<port> if missing."""
    dest = TYPINGS / port
    if not (dest / "machine.pyi").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--target", str(dest), STUBS[port]],
            check=True,
        )
    return dest


def mypy(port: str, targets: list[str], cwd: Path = FIRMWARE) -> subprocess.CompletedProcess[str]:
    """Run mypy for ``port`` on ``targets`` (paths relative to ``cwd``)."""
    stubs = ensure_stubs(port)
    env = dict(os.environ, MYPYPATH=str(stubs))
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(FIRMWARE / "tools" / "mypy.ini"),
           "--custom-typeshed-dir", str(stubs), "--platform", port,
           "--cache-dir", str(TYPINGS / f".mypy_cache_{port}"), *targets]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def main(argv: list[str]) -> int:
    ports = argv or list(STUBS)
    rc = 0
    for port in ports:
        res = mypy(port, TARGETS)
        print(f"== {port}: {res.stdout.strip()}")
        if res.returncode:
            print(res.stderr, file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
