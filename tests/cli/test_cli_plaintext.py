"""``check-config`` refuses a password sent in clear; an explicit opt-in is warned about at
every start of the gateway (issue 10, item 7)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import edgepost

PLAIN = ('[device]\nid = "cp-north-1"\n[mqtt]\nhost = "192.0.2.10"\nusername = "cp-north-1"\n'
         'password = "s3cret-horse"\nconnect_timeout_s = 0.3\nreconnect_min_s = 0.1\n'
         'reconnect_max_s = 0.2\n')


def test_check_config_refuses_a_password_in_clear(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(PLAIN)
    res = edgepost("gateway", "check-config", str(cfg))
    assert res.returncode == 2, res.stdout
    assert "password would be sent in clear text to 192.0.2.10" in res.stderr
    assert "allow_plaintext_password = true" in res.stderr and "[mqtt.tls]" in res.stderr
    assert "Traceback" not in res.stderr and "s3cret-horse" not in res.stderr


def test_opted_in_plaintext_password_is_warned_about_once_per_start(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(PLAIN + "allow_plaintext_password = true\n"
                   f'[spool]\npath = "{tmp_path}/spool.sqlite3"\n')
    assert edgepost("gateway", "check-config", str(cfg)).returncode == 0
    for _ in range(2):  # every start says it again, each only once despite reconnects
        res = edgepost("gateway", "run", "-c", str(cfg), "--duration", "2")
        assert res.returncode == 0, res.stderr
        assert res.stderr.count("password for 192.0.2.10:1883 is sent unencrypted") == 1, (
            res.stderr)
        assert "s3cret-horse" not in res.stderr
