"""`edgepost provision gateway` makes the page's login: hashed, owner-only, installed, page off."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import argon2
import pytest

from gateway.config.web import WebConfig
from gateway.web.users import Users
from tests.provisioning.conftest import run_provision
from webkit.auth import verify_password


def test_provision_writes_a_hashed_login_and_install_puts_it_in_place(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site") == 0
    out = capsys.readouterr().out
    password = re.search(r"gateway page login: technician / (\S+) ", out).group(1)  # type: ignore[union-attr]
    d = site / "gateways" / "gw-pi"
    users_file = d / "web-users.toml"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    text = users_file.read_text()
    assert password not in text and "$argon2id$" in text
    user = Users(users_file).get("technician")
    assert user is not None and user["role"] == "admin" and verify_password(user["hash"], password)
    # the gateway profile: a login on a Pi costs 19 MiB, not the centre's 64 MiB
    params = argon2.extract_parameters(user["hash"])
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19_456, 2, 1)

    # a re-run keeps the login (nothing printed); --web-password-stdin replaces it
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site") == 0
    assert "gateway page login" not in capsys.readouterr().out and users_file.read_text() == text
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-chosen-password\n"))
    assert run_provision(site, "gateway", "gw-pi", "--broker-host", "broker.site",
                         "--web-user", "anna", "--web-password-stdin") == 0
    assert "a-chosen-password" not in capsys.readouterr().out
    anna = Users(users_file).get("anna")
    assert anna is not None and verify_password(anna["hash"], "a-chosen-password")

    root = tmp_path / "root"
    exe = Path(sys.executable).with_name("edgepost")
    res = subprocess.run(["sh", str(d / "install.sh")], capture_output=True, text=True,
                         env={**os.environ, "EDGEPOST_ROOT": str(root), "EDGEPOST_BIN": str(exe)})
    assert res.returncode == 0, res.stdout + res.stderr
    etc = root / "etc" / "edgepost"
    for name in ("web-users.toml", "edgepost.zones.toml"):
        assert stat.S_IMODE((etc / name).stat().st_mode) == 0o600, name
    web = WebConfig.model_validate(tomllib.loads((d / "edgepost.toml").read_text())["web"])
    assert web.enabled is False and web.bind == ("127.0.0.1",)
    assert str(web.users_file) == "/etc/edgepost/web-users.toml"


def test_a_short_page_password_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert run_provision(site, "gateway", "gw-1", "--broker-host", "b", "--web-password-stdin") == 1
    assert "at least 8 characters" in capsys.readouterr().err
