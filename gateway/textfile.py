"""Reading the text files that people and tools write (configuration, key and user lists) as UTF-8.

Why one function: a file cut short by a power cut, copied in the wrong encoding or overwritten
with binary garbage is not valid UTF-8, and ``Path.read_text`` then raises ``UnicodeDecodeError``
(a ``ValueError``), which every reader here, written to catch ``OSError`` for an unreadable
file, let through as a traceback: a gateway refused to start with one, and a node key file
rewritten with garbage made the serial reader drop data at every key check.

:func:`read_utf8` turns that case into an ``OSError`` with ``errno.EILSEQ`` ("illegal byte
sequence", the C library's own error for undecodable text) and a ``strerror`` that says where
the first bad byte is and what to do. So each reader's existing ``except OSError`` branch gives
its usual one-line message ("cannot read FILE: not UTF-8 text ...") and keeps its own policy
(refuse to start, keep the previous keys, answer 503), and nothing else has to change.
:func:`read_toml` adds the TOML step for the configuration files (gateway, zones overlay,
central, HIL rig).
"""

from __future__ import annotations

import errno
import tomllib
from pathlib import Path
from typing import Any


def read_utf8(path: str | Path) -> str:
    """The text of ``path``; ``OSError`` (``errno.EILSEQ`` when it is not UTF-8) if unreadable."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OSError(
            errno.EILSEQ,
            f"not UTF-8 text (byte {exc.start} of {len(data)} is 0x{data[exc.start]:02x}): a damaged "
            "or binary file; write it again as UTF-8 text",
            str(path),
        ) from None


def read_toml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """The mapping in TOML file ``path``, or ``error`` saying why not (unreadable, not UTF-8, not
    TOML, nested too deep). ``FileNotFoundError`` passes through: a missing file means different
    things to different readers (an error, or nothing to merge)."""
    try:
        text = read_utf8(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise error(f"{path}: not valid TOML: {exc}") from None
