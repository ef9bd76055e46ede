"""Updating a gateway never leaves it unable to start (found by probing, session 43).

Before, ``install_gateway.sh`` installed a new wheel over the venv the service runs and only then
let install.sh check the configuration, after the bundle's configuration had replaced the one in
/etc: a newer edgepost with a stricter check (session 42 refused zone names over 64 characters)
was already in place when it refused, and the gateway stayed dark at its next restart.

Now the edgepost to be installed checks the configuration and the saved zones before anything
changes (install.sh in a bundle folder; install_gateway.sh itself for a software update, which
checks the installed configuration); each wheel gets a venv of its own and the service's venv
link is switched only before the restart, and back (with the previous configuration when the
bundle's was installed) when the new version does not come up.

The scripts run as written, under a prefix (``EDGEPOST_ROOT``), with a stand-in ``systemctl``
(``EDGEPOST_SYSTEMCTL``) that says whether the service came up; install.sh's own checks run the
real edgepost of this checkout. ``install_gateway.sh`` is driven with small stand-in wheels named
edgepost (a real wheel install is ``tests/packaging/test_wheel.py``'s job), so that the switch,
the rollback and the pruning of old venvs are each seen in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.provisioning.conftest import run_provision

DEV_EDGEPOST = Path(sys.executable).with_name("edgepost")

#: the stand-in systemctl: logs its calls; the service "comes up" only when the unit's venv link
#: points at $FAKE_GOOD ("dir": while it is still a directory, as before versioned venvs)
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
    restart|is-active)
        if [ "$FAKE_GOOD" = "*" ]; then exit 0; fi
        if [ "$FAKE_GOOD" = dir ]; then [ ! -L "$FAKE_LINK" ] && [ -d "$FAKE_LINK" ]; exit $?; fi
        [ "$(readlink "$FAKE_LINK")" = "$FAKE_GOOD" ] ;;
    *) exit 0 ;;
esac
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site") == 0
    return site / "gateways" / "gw-pi"


class Pi:
    """A prefix standing for the Pi's root, and how to run the bundle's scripts in it."""

    def __init__(self, tmp_path: Path, bundle: Path) -> None:
        self.root, self.bundle = tmp_path / "root", bundle
        self.link = self.root / "opt" / "edgepost" / "venv"
        self.venvs = self.root / "opt" / "edgepost" / "venvs"
        self.etc = self.root / "etc" / "edgepost"
        self.log = tmp_path / "systemctl.log"
        self.systemctl = tmp_path / "systemctl"
        self.systemctl.write_text(FAKE_SYSTEMCTL)
        self.systemctl.chmod(0o755)

    def env(self, good: str, **extra: str) -> dict[str, str]:
        return {**os.environ, "EDGEPOST_ROOT": str(self.root), "EDGEPOST_SYSTEMCTL": str(self.systemctl),
                "FAKE_LOG": str(self.log), "FAKE_LINK": str(self.link), "FAKE_GOOD": good,
                "EDGEPOST_SETTLE_S": "0", **extra}

    def install_sh(self, good: str = "*", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(self.bundle / "install.sh")], capture_output=True, text=True,
                              env=self.env(good, EDGEPOST_BIN=str(DEV_EDGEPOST), **extra), timeout=120)


def test_a_configuration_the_new_edgepost_refuses_changes_nothing(bundle: Path, tmp_path: Path) -> None:
    pi = Pi(tmp_path, bundle)
    assert (r := pi.install_sh()).returncode == 0, r.stdout + r.stderr
    installed = (pi.etc / "edgepost.toml").read_bytes()
    config = bundle / "edgepost.toml"
    config.write_text("spool_rows_typo = 5\n" + config.read_text())  # what a newer check refuses
    r = pi.install_sh()
    assert r.returncode == 1 and "nothing was changed" in r.stderr, r.stdout + r.stderr
    assert "spool_rows_typo" in r.stderr, "the check's own message is shown"
    assert (pi.etc / "edgepost.toml").read_bytes() == installed
    assert pi.log.read_text().count("restart") == 1, "no restart after the refusal"


def test_saved_zones_the_new_edgepost_refuses_are_named_before_anything_changes(
        bundle: Path, tmp_path: Path) -> None:
    pi = Pi(tmp_path, bundle)
    assert pi.install_sh().returncode == 0
    installed = (pi.etc / "edgepost.toml").read_bytes()
    # zones saved on the gateway's page that the edgepost being installed does not accept
    (pi.etc / "edgepost.zones.toml").write_text('[cameras.lane]\nzones = "not a list"\n')
    r = pi.install_sh()
    assert r.returncode == 1 and "saved zones" in r.stderr, r.stdout + r.stderr
    assert str(pi.etc / "edgepost.zones.toml") in r.stderr, "the message names the file on the Pi"
    assert (pi.etc / "edgepost.toml").read_bytes() == installed


# --- install_gateway.sh with stand-in wheels ---------------------------------------------------
FAKE_MODULE = '''import os, sys

def main():
    # stands in for `edgepost gateway check-config FILE`: refuses a file, or the zones overlay
    # beside it, saying so
    path = sys.argv[-1]
    zones = path[:-len(".toml")] + ".zones.toml"
    for f in (path, zones):
        if os.path.exists(f) and "refuse-me" in open(f, encoding="utf-8").read():
            print(f + ": refused by edgepost VERSION", file=sys.stderr)
            sys.exit(2)
'''


def fake_wheel(folder: Path, version: str) -> Path:
    """A minimal wheel named edgepost whose `edgepost` command only checks for 'refuse-me'."""
    files = {
        "fakeedgepost.py": FAKE_MODULE.replace("VERSION", version).encode(),
        f"edgepost-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: edgepost\nVersion: {version}\n".encode(),
        f"edgepost-{version}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"edgepost-{version}.dist-info/entry_points.txt":
            b"[console_scripts]\nedgepost = fakeedgepost:main\n",
    }

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = [f"{name},sha256={digest(data)},{len(data)}" for name, data in files.items()]
    files[f"edgepost-{version}.dist-info/RECORD"] = (
        "\n".join([*record, f"edgepost-{version}.dist-info/RECORD,,"]) + "\n").encode()
    path = folder / f"edgepost-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


class Updates:
    """install_gateway.sh run in a folder with a stand-in wheel, on the prefix of ``pi``."""

    def __init__(self, pi: Pi, tmp_path: Path) -> None:
        self.pi = pi
        self.wheels = tmp_path / "wheels"
        self.wheels.mkdir()

    def run(self, folder: Path, version: str, good: str = "*") -> subprocess.CompletedProcess[str]:
        for w in folder.glob("edgepost-*.whl"):
            w.unlink()
        shutil.copy(fake_wheel(self.wheels, version), folder)
        if not (folder / "install_gateway.sh").exists():
            shutil.copy(self.pi.bundle / "install_gateway.sh", folder)
        return subprocess.run(["sh", str(folder / "install_gateway.sh")], capture_output=True,
                              text=True, timeout=300,
                              env=self.pi.env(good, EDGEPOST_PYTHON=sys.executable, PIP_NO_INDEX="1"))

    def in_use(self) -> str:
        return os.readlink(self.pi.link)

    def venvs(self) -> list[str]:
        return sorted(p.name for p in self.pi.venvs.iterdir())


def test_install_gateway_switches_rolls_back_and_keeps_the_venv_before(bundle: Path, tmp_path: Path) -> None:
    pi = Pi(tmp_path, bundle)
    up = Updates(pi, tmp_path)
    assert (r := up.run(bundle, "1.0")).returncode == 0, r.stdout + r.stderr
    first = up.in_use()
    assert first.endswith("-edgepost-1.0-py3-none-any") and Path(first).parent == pi.venvs
    config = bundle / "edgepost.toml"
    text = config.read_text()
    config.write_text("# for 1.1\n" + text)
    assert (r := up.run(bundle, "1.1")).returncode == 0, r.stdout + r.stderr
    second = up.in_use()
    assert second != first and Path(first).is_dir(), "the venv before is kept"
    assert pi.log.read_text().count("restart") == 2

    config.write_text("# for 1.2\n" + text)
    r = up.run(bundle, "1.2", good=second)  # 1.2 never comes up
    assert r.returncode == 1 and "rolled back to the previous version and configuration" in r.stderr, \
        r.stdout + r.stderr
    assert up.in_use() == second and (pi.etc / "edgepost.toml").read_text().startswith("# for 1.1")
    assert up.venvs() == sorted([Path(first).name, Path(second).name]), "the failed venv is removed"
    assert pi.log.read_text().count("restart") == 4, "1.2, then 1.1 again"

    config.write_text(text + "\n# refuse-me\n")
    r = up.run(bundle, "1.3")
    assert r.returncode == 1 and "refused by edgepost 1.3" in r.stderr and "nothing was changed" in r.stderr
    assert up.in_use() == second and len(up.venvs()) == 2
    assert pi.log.read_text().count("restart") == 4, "nothing restarted"

    config.write_text(text)
    assert (r := up.run(bundle, "1.4")).returncode == 0, r.stdout + r.stderr
    assert up.in_use().endswith("-edgepost-1.4-py3-none-any")
    assert up.venvs() == sorted([Path(second).name, Path(up.in_use()).name]), \
        "the venv in use and the one before it are kept, older ones removed"


def test_a_software_update_checks_the_installed_configuration(bundle: Path, tmp_path: Path) -> None:
    pi = Pi(tmp_path, bundle)
    up = Updates(pi, tmp_path)
    assert (r := up.run(bundle, "2.0")).returncode == 0, r.stdout + r.stderr
    before = up.in_use()
    update = tmp_path / "update"  # only the script and the wheel: no key travels again
    update.mkdir()
    installed = pi.etc / "edgepost.toml"
    text = installed.read_text()
    installed.write_text(text + "\n# refuse-me\n")  # what the newer version refuses
    r = up.run(update, "2.1")
    assert r.returncode == 1 and "refuses the installed configuration" in r.stderr, r.stdout + r.stderr
    assert str(installed) in r.stderr, "the message names the file on the Pi"
    assert up.in_use() == before and installed.read_text().endswith("# refuse-me\n")
    installed.write_text(text)
    zones = pi.etc / "edgepost.zones.toml"
    zones.write_text("# refuse-me\n")  # zones saved on the page that the newer version refuses
    r = up.run(update, "2.1")
    assert r.returncode == 1 and f"{zones}: refused by edgepost 2.1" in r.stderr, r.stdout + r.stderr
    assert up.in_use() == before
    zones.write_text("")
    r = up.run(update, "2.1", good="*")
    assert r.returncode == 0, r.stdout + r.stderr
    assert up.in_use().endswith("-edgepost-2.1-py3-none-any") and installed.read_text() == text
    r = up.run(update, "2.2", good=up.in_use())  # does not come up: back to 2.1, config untouched
    assert r.returncode == 1 and "rolled back to the previous version, which" in r.stderr
    assert up.in_use().endswith("-edgepost-2.1-py3-none-any") and installed.read_text() == text


def test_a_venv_from_before_versioned_venvs_is_put_back_on_a_rollback(bundle: Path, tmp_path: Path) -> None:
    pi = Pi(tmp_path, bundle)
    up = Updates(pi, tmp_path)
    assert pi.install_sh().returncode == 0  # installed by the older scripts: a venv directory
    (pi.link / "bin").mkdir(parents=True)
    (pi.link / "bin" / "marker").write_text("old venv")
    r = up.run(bundle, "3.0", good="dir")  # the new version does not come up
    assert r.returncode == 1 and "rolled back" in r.stderr, r.stdout + r.stderr
    assert not pi.link.is_symlink() and (pi.link / "bin" / "marker").read_text() == "old venv"
    assert (r := up.run(bundle, "3.0")).returncode == 0, r.stdout + r.stderr
    assert pi.link.is_symlink() and not pi.link.with_name("venv.replaced").exists()
