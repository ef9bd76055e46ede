"""Gateway identity, configuration, systemd unit and install.sh."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.cli import gateway_cmd
from gateway.config import load_config
from tests.provisioning.conftest import run_provision

REPO = Path(__file__).resolve().parents[2]


def check_config(path: Path) -> int:
    import argparse

    return gateway_cmd.cmd_check_config(argparse.Namespace(file=path))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    return site


def test_ca_init_is_owner_only_and_idempotent(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ca_key = (site / "ca" / "ca.key").read_bytes()
    assert stat.S_IMODE((site / "ca").stat().st_mode) == 0o700
    assert stat.S_IMODE((site / "ca" / "ca.key").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((site / "ca" / "ca.pem").read_bytes())
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    capsys.readouterr()
    assert run_provision(site, "ca", "init") == 0
    assert "kept existing" in capsys.readouterr().out
    assert (site / "ca" / "ca.key").read_bytes() == ca_key


def test_loose_ca_key_permissions_are_refused(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(site / "ca" / "ca.key", 0o644)
    assert run_provision(site, "gateway", "gw-1", "--broker-host", "b") == 1
    assert "chmod 600" in capsys.readouterr().err


def test_gateway_bundle(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_provision(site, "gateway", "cp-north-1", "--broker-host", "broker.site", "--lat", "30.1",
                         "--lon", "120.2", "--node-link", "/dev/ttyAMA0") == 0
    d = site / "gateways" / "cp-north-1"
    cert = x509.load_pem_x509_certificate((d / "cp-north-1.pem").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cp-north-1"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    for f in ("cp-north-1.key", "edgepost.toml"):
        assert stat.S_IMODE((d / f).stat().st_mode) == 0o600, f
    assert os.access(d / "install.sh", os.X_OK)
    unit = (d / "edgepost-gateway.service").read_text()
    for line in ("Type=notify", "WatchdogSec=30", "Restart=on-failure", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "StateDirectory=edgepost", "User=edgepost",
                 "ExecStart=/opt/edgepost/venv/bin/edgepost gateway run -c /etc/edgepost/edgepost.toml"):
        assert line in unit.splitlines(), line
    # found by probing (session 42): an ExecStartPre check-config refused a damaged zones
    # overlay, so the unit never reached `gateway run`, which runs on the main file's zones
    assert not [ln for ln in unit.splitlines() if ln.startswith("ExecStartPre")]
    # Same key on a re-run (no silent rotation of a deployed device).
    key = (d / "cp-north-1.key").read_bytes()
    assert run_provision(site, "gateway", "cp-north-1", "--broker-host", "broker.site") == 0
    assert (d / "cp-north-1.key").read_bytes() == key
    out = capsys.readouterr()
    assert "PRIVATE KEY" not in out.out + out.err


def test_generated_config_passes_check_config(site: Path, tmp_path: Path) -> None:
    # With --etc-dir pointing at the bundle itself, the file is usable as is on this machine.
    d = site / "gateways" / "gw-lab"
    assert run_provision(site, "gateway", "gw-lab", "--broker-host", "127.0.0.1", "--etc-dir", str(d),
                         "--node-link", "/dev/ttyUSB0") == 0
    assert check_config(d / "edgepost.toml") == 0
    cfg = load_config(d / "edgepost.toml")
    assert cfg.device.id == "gw-lab" and cfg.demo.enabled is False
    assert cfg.mqtt.tls is not None and cfg.mqtt.tls.keyfile == d / "gw-lab.key"
    assert cfg.sensors.node_links[0].key_file == d / "node-keys.toml"


def test_install_sh_under_a_prefix(site: Path, tmp_path: Path) -> None:
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site") == 0
    root = tmp_path / "root"
    exe = Path(sys.executable).with_name("edgepost")
    res = subprocess.run(["sh", str(site / "gateways" / "gw-pi" / "install.sh")], capture_output=True,
                         text=True, env={**os.environ, "EDGEPOST_ROOT": str(root), "EDGEPOST_BIN": str(exe)})
    assert res.returncode == 0, res.stdout + res.stderr
    etc = root / "etc" / "edgepost"
    assert stat.S_IMODE((etc / "gw-pi.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((etc / "edgepost.toml").stat().st_mode) == 0o600
    assert (root / "etc" / "systemd" / "system" / "edgepost-gateway.service").is_file()
    assert "checking the configuration" in res.stdout and "PRIVATE KEY" not in res.stdout + res.stderr


def test_install_sh_refuses_without_edgepost(site: Path, tmp_path: Path) -> None:
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site") == 0
    res = subprocess.run(["sh", str(site / "gateways" / "gw-pi" / "install.sh")], capture_output=True,
                         text=True, env={**os.environ, "EDGEPOST_ROOT": str(tmp_path / "r"),
                                         "EDGEPOST_BIN": str(tmp_path / "missing")})
    assert res.returncode == 1 and "edgepost is not installed" in res.stderr
