"""Files on a MicroPython board over the raw REPL: hash, list, write in chunks, remove.

This is what ``mpremote fs cp`` does, done here because mpremote's copy relies on raw-paste
and on stat calls the WebAssembly VM answers differently (ENVIRONMENT.md), and because we
want atomic writes and a clear "flash full" error. Files are written to ``<path>.tmp`` in
base64 chunks and renamed into place, so a cable pulled mid-copy leaves the old file.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable

from provisioning.raw_repl import RawRepl

CHUNK = 1024  # raw bytes per exec: ~1.4 KB of base64, well inside any board's heap
ENOSPC = 28  # MicroPython's errno for "no space" on every port (littlefs and FAT)


class FlashFullError(RuntimeError):
    """The board's filesystem has no room for a file."""


class BoardFsError(RuntimeError):
    """A filesystem operation on the board failed."""


_HASH = """\
import hashlib, binascii, os
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(b[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
print('{')
for _p in %s:
    print(repr(_p).replace("'", '"'), ':', repr(_h(_p)).replace("'", '"').replace('None', 'null'), ',')
print('"": null}')
"""


def remote_hashes(repl: RawRepl, paths: list[str]) -> dict[str, str | None]:
    """SHA-256 (hex) of each file on the board, None where it does not exist."""
    out = repl.exec(_HASH % json.dumps(paths), timeout_s=60)
    result = json.loads(out)
    result.pop("", None)
    return {p: result.get(p) for p in paths}


_LIST = """\
import os
def _walk(d):
    try:
        items = os.ilistdir(d)
    except OSError:
        return
    for it in items:
        p = d + '/' + it[0]
        if it[1] & 0x4000:
            _walk(p)
        else:
            print(p)
for _d in %s:
    _walk(_d)
"""


def remote_files(repl: RawRepl, folders: list[str]) -> list[str]:
    """Every file below ``folders`` (absolute board paths)."""
    return [line for line in repl.exec(_LIST % json.dumps(folders)).splitlines() if line]


def free_bytes(repl: RawRepl) -> int | None:
    """Free space of the board's root filesystem, or None if the port cannot tell."""
    out = repl.exec("import os\ntry:\n s=os.statvfs('/')\n print(s[0]*s[4])\nexcept Exception:\n print(-1)")
    value = int(out.strip() or -1)
    return None if value < 0 else value


def _mkdirs(repl: RawRepl, path: str) -> None:
    parts = path.strip("/").split("/")[:-1]
    if not parts:
        return
    dirs = json.dumps(["/" + "/".join(parts[:i + 1]) for i in range(len(parts))])
    repl.exec(f"import os\nfor _d in {dirs}:\n try:\n  os.mkdir(_d)\n except OSError:\n  pass\n")


def _check(out: str, path: str) -> None:
    if out.startswith("EP-ERR"):
        errno = int(out.split()[1])
        if errno == ENOSPC:
            raise FlashFullError(f"flash full while writing {path}")
        raise BoardFsError(f"writing {path} failed on the board (OSError {errno})")


def put(repl: RawRepl, path: str, data: bytes, progress: Callable[[int], None] | None = None) -> None:
    """Write ``data`` to ``path`` on the board atomically (tmp file + rename)."""
    _mkdirs(repl, path)
    tmp = path + ".tmp"
    _check(repl.exec(f"try:\n _f=open({tmp!r},'wb')\n _w=_f.write\n print('ok')\n"
                     f"except OSError as e:\n print('EP-ERR', e.args[0])"), path)
    try:
        for i in range(0, len(data), CHUNK):
            b64 = binascii.b2a_base64(data[i:i + CHUNK], newline=False)
            out = repl.exec(f"from binascii import a2b_base64\ntry:\n _w(a2b_base64({b64!r}))\n"
                            f"except OSError as e:\n print('EP-ERR', e.args[0])")
            _check(out, path)
            if progress:
                progress(min(i + CHUNK, len(data)))
        _check(repl.exec(
            "import os\ntry:\n _f.close()\n"
            f" try:\n  os.rename({tmp!r},{path!r})\n except OSError:\n"
            # FAT cannot rename onto an existing file: remove it first (not atomic there).
            f"  os.remove({path!r})\n  os.rename({tmp!r},{path!r})\n"
            "except OSError as e:\n print('EP-ERR', e.args[0])"), path)
    except (FlashFullError, BoardFsError):
        repl.exec(f"import os\ntry:\n _f.close()\nexcept Exception:\n pass\ntry:\n os.remove({tmp!r})\n"
                  "except OSError:\n pass")
        raise


def remove(repl: RawRepl, paths: list[str]) -> None:
    """Delete files (missing ones are fine)."""
    if paths:
        repl.exec(f"import os\nfor _p in {json.dumps(paths)}:\n try:\n  os.remove(_p)\n"
                  " except OSError:\n  pass\n")
