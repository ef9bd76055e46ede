"""Split a byte stream into bounded ASCII text lines (NMEA), counting what is dropped."""

from __future__ import annotations

from gateway.sensors.counters import Counters


class LineSplitter:
    """``feed(bytes) -> list[str]``; lines end at LF (CR stripped).

    NMEA 0183 caps a sentence at 82 characters; anything longer, or with non-ASCII bytes,
    is line noise (wrong baud rate, a half-plugged connector) and is dropped and counted.
    """

    def __init__(self, max_len: int = 120, counters: Counters | None = None) -> None:
        self.max_len = max_len
        self.counters = counters if counters is not None else Counters()
        self._buf = b""
        self._overflow = False

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return complete, decodable lines."""
        parts = (self._buf + data).split(b"\n")
        self._buf = parts.pop()
        if len(self._buf) > self.max_len:
            self.counters.add("garbage_bytes", len(self._buf))
            self._buf = b""
            self._overflow = True
        out: list[str] = []
        for raw in parts:
            if self._overflow:  # tail of an overlong line
                self._overflow = False
                self.counters.add("garbage_bytes", len(raw))
                self.counters.add("rejected_overlong")
                continue
            line = raw.rstrip(b"\r")
            if not line:
                continue
            if len(line) > self.max_len:
                self.counters.add("garbage_bytes", len(raw))
                self.counters.add("rejected_overlong")
                continue
            try:
                out.append(line.decode("ascii"))
            except UnicodeDecodeError:
                self.counters.add("garbage_bytes", len(raw))
                self.counters.add("rejected_non_ascii")
        return out
