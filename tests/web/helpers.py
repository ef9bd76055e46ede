"""A running gateway with its page on: config written as a real TOML file, users file hashed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.config import load_config, to_toml
from gateway.service.gateway import GatewayService
from gateway.web.users import render_users
from webkit.auth import hash_password

PASSWORD = "roadside-secret-1"
VIEWER_PASSWORD = "look-but-no-touch"


def write_users(path: Path) -> None:
    path.write_text(render_users({
        "tech": {"hash": hash_password(PASSWORD), "role": "admin"},
        "guest": {"hash": hash_password(VIEWER_PASSWORD), "role": "viewer"},
    }))


def gateway_toml(tmp_path: Path, port: int, **sections: dict[str, Any]) -> Path:
    """Write ``edgepost.toml`` (broker on ``port``, spool and page files under ``tmp_path``)."""
    raw: dict[str, Any] = {
        "device": {"id": "gw-web"},
        "mqtt": {"port": port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
        "spool": {"path": str(tmp_path / "spool.sqlite3")},
        "demo": {"enabled": False},
        "health": {"interval_s": 0.5},
        "web": {"enabled": True, "port": 0, "users_file": str(tmp_path / "web-users.toml"),
                "live_interval_s": 0.5},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    write_users(tmp_path / "web-users.toml")
    path = tmp_path / "edgepost.toml"
    path.write_text(to_toml(raw, header="test gateway\nkeep this comment"))
    return path


@contextmanager
def running(path: Path) -> Iterator[tuple[GatewayService, str]]:
    """The gateway from ``path``, started; yields it and the page's base URL."""
    service = GatewayService(load_config(path), config_path=path)
    service.start()
    try:
        assert service.web.error is None, service.web.error
        addr, port = service.web.ports[0]
        yield service, f"http://{addr}:{port}"
    finally:
        service.stop()
