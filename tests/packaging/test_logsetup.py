"""Journald-friendly logging: real processes, stderr either a plain pipe or the announced journal stream."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway.logsetup import syslog_priority

SCRIPT = ("import logging\nfrom gateway.logsetup import configure_logging\n"
          "configure_logging(logging.DEBUG)\nlog = logging.getLogger('edgepost.t')\n"
          "log.debug('d'); log.info('i'); log.warning('w'); log.error('e')\n"
          "try:\n    1/0\nexcept ZeroDivisionError:\n    log.exception('boom')\n")


def _run(stderr_path: Path, journal: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with stderr_path.open("wb") as err:
        if journal:
            st = os.fstat(err.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"  # what systemd sets for the unit
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=err, env=env, check=True, timeout=60)
    return stderr_path.read_text().splitlines()


def test_under_systemd_lines_carry_priorities_and_no_timestamp(tmp_path: Path) -> None:
    lines = _run(tmp_path / "journal", journal=True)
    assert lines[:4] == ["<7>edgepost.t: d", "<6>edgepost.t: i", "<4>edgepost.t: w", "<3>edgepost.t: e"]
    # The traceback stays at error priority line by line (journald splits entries at newlines).
    tb = lines[4:]
    assert tb[0] == "<3>edgepost.t: boom" and len(tb) > 3
    assert all(line.startswith("<3>") for line in tb), tb


def test_elsewhere_lines_keep_timestamps_and_level_names(tmp_path: Path) -> None:
    lines = _run(tmp_path / "plain", journal=False)
    assert lines[0].endswith(" DEBUG edgepost.t: d") and lines[0][:4].isdigit(), lines[0]
    assert not any(line.startswith("<") for line in lines)


def test_a_journal_stream_that_is_not_our_stderr_is_ignored(tmp_path: Path) -> None:
    # A child of a service inherits JOURNAL_STREAM but may write elsewhere (a pipe, a file).
    env = dict(os.environ, JOURNAL_STREAM="1:2")
    with (tmp_path / "err").open("wb") as err:
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=err, env=env, check=True, timeout=60)
    assert not (tmp_path / "err").read_text().startswith("<")


def test_priorities_follow_syslog() -> None:
    assert [syslog_priority(n) for n in (50, 40, 30, 20, 10, 5)] == [2, 3, 4, 6, 7, 7]
