"""Expect-style matching on a device's console (in the manner of pytest-embedded's dut.expect)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable


class ConsoleTimeoutError(AssertionError):
    """The pattern did not show up on the console in time (message has the console tail)."""


class Console:
    """Lines from a device's console; ``expect`` waits for a pattern after the last match.

    Feed it from a reader thread (``feed_lines``); a match consumes the console up to and
    including the matching line, so successive expects read forward like on a terminal.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.times: list[float] = []  # time.monotonic() when each line arrived
        self._cursor = 0
        self._cond = threading.Condition()

    def feed(self, line: str) -> None:
        with self._cond:
            self.lines.append(line.rstrip("\r\n"))
            self.times.append(time.monotonic())
            self._cond.notify_all()

    def feed_lines(self, stream: Iterable[str]) -> None:
        """Read a text stream to its end (run on a thread)."""
        for line in stream:
            self.feed(line)

    def mark(self) -> int:
        """Move the cursor to the end: later expects only see new output."""
        with self._cond:
            self._cursor = len(self.lines)
            return self._cursor

    @property
    def cursor(self) -> int:
        """Index of the first line the next ``expect`` will look at."""
        return self._cursor

    def seek_last(self, pattern: str) -> int:
        """Move the cursor just past the last line matching ``pattern`` so far (the cursor
        stays if none does): later expects only see what came after that line."""
        rx = re.compile(pattern)
        with self._cond:
            for i in range(len(self.lines) - 1, -1, -1):
                if rx.search(self.lines[i]):
                    self._cursor = i + 1
                    break
            return self._cursor

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 10.0) -> re.Match[str]:
        """Wait for a line matching ``pattern`` (regex search) after the cursor; return the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._cursor, len(self.lines)):
                    m = rx.search(self.lines[i])
                    if m:
                        self._cursor = i + 1
                        return m
                self._cursor = max(self._cursor, 0)
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-15:])
                    raise ConsoleTimeoutError(f"{self.name}: no line matching {rx.pattern!r} within "
                                         f"{timeout:.1f} s; console tail:\n{tail}")
                self._cond.wait(min(left, 0.2))

    def findall_timed(self, pattern: str) -> list[tuple[float, re.Match[str]]]:
        """(arrival time, match) for every line matching ``pattern`` so far."""
        rx = re.compile(pattern)
        with self._cond:
            return [(t, m) for t, line in zip(self.times, self.lines, strict=True)
                    if (m := rx.search(line))]

    def findall(self, pattern: str) -> list[re.Match[str]]:
        """Every match of ``pattern`` in the whole console so far (cursor unchanged)."""
        rx = re.compile(pattern)
        with self._cond:
            return [m for line in self.lines if (m := rx.search(line))]
