"""Log configuration for the ``edgepost`` command: plain stderr, or journald-friendly under systemd.

Why: under systemd, stderr goes to journald, which stamps every line with its own time and
reads an ``<N>`` prefix (sd-daemon(3)) as the syslog priority. A timestamp of ours would be a
second, duplicate one, and without the prefix every line would land at the unit's default
priority, so ``journalctl -p warning`` could not pick out the problems. systemd sets
``JOURNAL_STREAM`` (device:inode of the stream) for a service whose stderr is the journal;
when it matches our stderr we log ``<N>logger: message``, else the usual timestamped lines.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"  # journald adds time, unit and PID itself

# syslog priorities (RFC 5424) by logging level: what `journalctl -p` filters on.
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7


def syslog_priority(levelno: int) -> int:
    """The syslog priority for a logging level (crit 2, err 3, warning 4, info 6, debug 7)."""
    for level, prio in PRIORITIES:
        if levelno >= level:
            return prio
    return DEBUG_PRIORITY


class JournalFormatter(logging.Formatter):
    """``<N>name: message``; every line of a multi-line record (a traceback) gets the prefix."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        # journald reads one entry per line: a traceback must not fall back to the default level.
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def stream_is_journal(stream: TextIO, env: dict[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal stream systemd announced in ``JOURNAL_STREAM``."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    try:
        st = os.fstat(stream.fileno())
        return bool(value) and (st.st_dev, st.st_ino) == (int(dev), int(ino))
    except (OSError, ValueError, AttributeError):
        # Not a real file (a test's StringIO) or a malformed variable: not the journal.
        return False


def configure_logging(level: int, stream: TextIO | None = None) -> None:
    """Configure the root logger once for the command line (journald style when under systemd)."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(JournalFormatter() if stream_is_journal(out) else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
