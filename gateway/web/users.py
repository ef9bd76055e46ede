"""The page's logins: a small TOML file of argon2id hashes and roles, never plain passwords.

Why a file of its own (``/etc/edgepost/web-users.toml``, 0600): ``edgepost provision gateway``
writes it on the technician's laptop beside the identity, install.sh puts it in place, and a
new login is a new file, without touching the gateway's configuration (or its hash).

Format::

    [users.technician]
    hash = "$argon2id$v=19$m=65536,t=3,p=4$..."
    role = "admin"

The file is read again when it changes, so a replaced file takes effect without a restart.
"""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

from gateway.textfile import read_utf8

ROLES = ("viewer", "operator", "admin")


class UsersFileError(ValueError):
    """The users file cannot be used; the text says how to fix it."""


def render_users(users: dict[str, dict[str, str]]) -> str:
    """The users file's text for ``{name: {"hash": ..., "role": ...}}``."""
    from gateway.config.loader import to_toml

    return to_toml({"users": users}, header="Logins of the gateway page (edgepost web): argon2id "
                   "hashes, never passwords.\nWritten by `edgepost provision gateway`.")


def parse_users(text: str, source: str) -> dict[str, dict[str, str]]:
    """``{name: {"hash", "role"}}`` from the file's text; :class:`UsersFileError` if malformed."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # nesting too deep: not a users file
        raise UsersFileError(f"{source}: not valid TOML: {exc}") from None
    table = data.get("users") or {}
    if not isinstance(table, dict):
        raise UsersFileError(f"{source}: users must be a table of [users.<name>] entries "
                             "(run `edgepost provision gateway` again to write one)")
    users: dict[str, dict[str, str]] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict) or not str(entry.get("hash", "")).startswith("$argon2"):
            raise UsersFileError(f"{source}: users.{name}: needs hash = an argon2 hash "
                                 "(run `edgepost provision gateway` again to make one)")
        role = entry.get("role", "viewer")
        if role not in ROLES:
            raise UsersFileError(f"{source}: users.{name}: role must be one of {ROLES}")
        users[str(name)] = {"hash": str(entry["hash"]), "role": str(role)}
    return users


class Users:
    """The logins in ``path``, re-read when the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> dict[str, Any] | None:
        """``{"name", "hash", "role"}`` of a login, or None (no such user, or no file)."""
        with self._lock:
            self._refresh()
            entry = self._users.get(name)
        return {"name": name, **entry} if entry else None

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                text = read_utf8(self.path)
            except OSError as exc:
                raise UsersFileError(f"{self.path}: cannot read: {exc.strerror}") from None
            self._users = parse_users(text, str(self.path))
            self._stamp = stamp
