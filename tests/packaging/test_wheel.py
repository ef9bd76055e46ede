"""The release path: sdist -> wheel -> a fresh venv outside the repository -> the demo runs.

Why: the code once read models, firmware and the simulator from the source tree, so a wheel
installed anywhere else failed. This builds the sdist and the wheel the way a release does
(``python -m build``: the wheel is built from the sdist, so MANIFEST.in is tested too),
installs the wheel with scripts/install_gateway.sh (under a prefix) from the local
wheelhouse that scripts/setup.sh keeps (``--no-index``: nothing is downloaded), and runs the
commands from a folder with no checkout around it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.vision.conftest import shared_dir

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
PLATE = "沪A85J08"


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, (f"{' '.join(cmd[:4])} failed ({res.returncode}):\n"
                                 f"{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return res


@pytest.mark.slow
def test_wheel_installs_outside_the_repo_and_runs_demo_and_plates(tmp_path: Path) -> None:
    if not (WHEELHOUSE / ".complete").is_file():
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: run scripts/setup.sh (it fills it once)")
    shared = shared_dir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE), PIP_DISABLE_PIP_VERSION_CHECK="1")
    t0 = time.monotonic()
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], tmp_path, env, 300)
    wheel = next(dist.glob("edgepost-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("gateway/assets/_models/assets.toml",
                   "gateway/assets/_models/plates/recognizer_int8.tflite",
                   "provisioning/_firmware/main.py", "provisioning/_firmware/board/pins/esp32.json",
                   "provisioning/sim/mpboard.mjs", "hil_tests/rigs/simulated.toml"):
        assert needed in names, f"{needed} is missing from {wheel.name}"
    t_build = time.monotonic() - t0

    # The install bundle as the technician gets it: `provision gateway` output plus the wheel,
    # then its one command, under a prefix: system-site-packages venv, numpy<2, the wheel,
    # then the bundle's install.sh (identity, config checked by the installed edgepost, unit).
    site = tmp_path / "site"
    dev = str(Path(sys.executable).with_name("edgepost"))
    _run([dev, "provision", "--site", str(site), "ca", "init"], tmp_path, env, 60)
    _run([dev, "provision", "--site", str(site), "gateway", "gw-pi", "--broker-host", "broker.site"],
         tmp_path, env, 60)
    bundle = site / "gateways" / "gw-pi"
    shutil.copy(wheel, bundle)
    root = tmp_path / "root"
    res = _run(["sh", str(bundle / "install_gateway.sh")], tmp_path, dict(
        env, EDGEPOST_ROOT=str(root), EDGEPOST_PYTHON=sys.executable,
        EDGEPOST_EXTRAS="gateway,plates"), 300)
    assert "[install] checking the configuration" in res.stdout, res.stdout
    assert (root / "etc" / "systemd" / "system" / "edgepost-gateway.service").is_file()
    venv = root / "opt" / "edgepost" / "venv"
    # a venv of its own per install, behind the link the unit runs (tests/provisioning/test_install_update.py)
    assert venv.is_symlink() and venv.resolve().parent == root / "opt" / "edgepost" / "venvs"
    py = venv / "bin" / "python"
    numpy_line = next(line for line in res.stdout.splitlines() if "] numpy " in line)
    assert numpy_line.split()[2].startswith("1."), numpy_line  # numpy<2 held
    t_install = time.monotonic() - t0 - t_build

    work = tmp_path / "elsewhere"  # no checkout above it: nothing can be found by accident
    work.mkdir()
    exe = str(venv / "bin" / "edgepost")
    # The installed package is imported from the venv, not from the repository.
    where = _run([str(py), "-c", "import gateway, provisioning.firmware_build as f; "
                  "print(gateway.__file__); print(f.FIRMWARE)"], work, env, 60).stdout
    assert str(REPO) not in where and str(venv) in where, where

    image = shared / "plates" / "real_scenes_hyperlpr" / "cache_bad2" / f"{PLATE}.png"
    res = _run([exe, "plates", "read", str(image)], work, env, 120)
    assert f"\t{PLATE}\t" in res.stdout, res.stdout

    res = _run([exe, "demo", "--mirror", str(shared), "--out", str(work / "out")], work, env, 240)
    assert "received {'object': 20, 'line_crossing': 4}" in res.stdout, res.stdout[-3000:]
    for camera in ("hall", "lane"):
        assert (work / "out" / f"summary-{camera}.jpg").read_bytes()[:2] == b"\xff\xd8"
    total = time.monotonic() - t0
    print(f"build {t_build:.1f} s, install {t_install:.1f} s, total {total:.1f} s")
