"""Owner-only files for keys and other secrets, written atomically.

Every secret goes through :func:`write_secret`: the file is created with mode 0600 from the
first byte (never chmod-ed afterwards, so there is no window in which another user could
open it) and renamed into place, so a crash leaves either the old or the new file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SECRET_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class InsecurePermissionsError(PermissionError):
    """A secret file or directory is readable by other users."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make the leaf owner-only (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def write_secret(path: Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` with mode 0600 (the folder must exist)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SECRET_MODE)
    try:
        # The umask cannot widen 0600, but a restrictive umask could narrow it: set it exactly.
        os.fchmod(fd, SECRET_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:  # even on Ctrl-C: never leave a half-written secret behind
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    return path


def write_public(path: Path, data: bytes | str, mode: int = 0o644) -> Path:
    """Atomically write a non-secret file (certificates, configs, units)."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(raw)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def check_private(path: Path) -> None:
    """Raise :class:`InsecurePermissionsError` when group or others have any access to ``path``."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecurePermissionsError(
            f"{path} has mode {mode:04o}; it holds secrets and must be owner-only "
            f"(chmod {'700' if path.is_dir() else '600'} {path})")
