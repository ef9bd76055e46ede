"""Split a byte stream into COBS blocks at 0x00 delimiters, skipping and counting garbage."""

from __future__ import annotations

from gateway.sensors.frames import MAX_WIRE_LEN


class Deframer:
    """Incremental splitter. ``feed()`` returns complete non-empty blocks (no delimiters).

    A block longer than a legal frame cannot be one: it is dropped as soon as it grows past
    the limit, and so is everything up to the next delimiter, so a noisy line can never
    make the buffer grow. ``oversize_bytes`` counts what was dropped that way.
    """

    def __init__(self, max_block: int = MAX_WIRE_LEN - 2) -> None:
        self.max_block = max_block
        self._tail = b""
        self._skipping = False
        self.oversize_bytes = 0
        self.oversize_blocks = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the blocks that are now complete."""
        parts = (self._tail + data).split(b"\x00")
        tail = parts.pop()
        blocks: list[bytes] = []
        for part in parts:
            if self._skipping:
                # Rest of an oversize run: the delimiter ends it.
                self.oversize_bytes += len(part)
                self._skipping = False
            elif len(part) > self.max_block:
                self.oversize_bytes += len(part)
                self.oversize_blocks += 1
            elif part:
                blocks.append(part)
        if len(tail) > self.max_block:
            if not self._skipping:
                self.oversize_blocks += 1
            self.oversize_bytes += len(tail)
            self._skipping = True
            tail = b""
        self._tail = tail
        return blocks

    @property
    def pending(self) -> int:
        """Bytes held while waiting for a delimiter."""
        return len(self._tail)
