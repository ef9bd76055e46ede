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
"""

from __future__ import annotations

import errno
from pathlib import Path


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
