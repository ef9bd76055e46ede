"""The sequence high-water mark: a tiny file beside the spool that keeps sequence numbers
moving forward whatever happens to the spool file itself.

Why a separate file: the spool is one SQLite file, and a damaged or truncated file that is
moved aside takes its ``last_seq`` with it. A new spool would start at 1 again and reuse
numbers subscribers have already seen (they would ignore the new events as duplicates, and
the loss would show as no gap at all). The mark holds two numbers:

* ``reserved``: every sequence number ever handed out is at most this. The spool reserves
  numbers in blocks ahead of use (one fsync per :data:`BLOCK` events, not per event), so after
  a loss of the spool the next number is ``reserved + 1``, and the numbers in between are a
  gap that the spool reports in its fault event.
* ``floor``: numbers up to here were consumed without being stored in the spool (events that
  a full disk refused, events sent from memory); a healthy spool restarts above it.

Contract: :meth:`SeqMark.store` returns only after the new values are on disk. It overwrites
one of two fixed 32-byte slots in a file that was allocated when the mark was created, in
place, so it keeps working when the filesystem is full (nothing new is allocated). Each slot
carries a CRC, and the reader takes the valid slot with the larger values, so a torn write of
one slot leaves the other.
"""

from __future__ import annotations

import binascii
import contextlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BLOCK = 1000  # numbers reserved per fsync of the mark: one extra disk sync per 1000 events
_SLOT = struct.Struct("<QQQI4x")  # generation, reserved, floor, crc32 of the first 24 bytes
_SIZE = 2 * _SLOT.size


@dataclass(frozen=True, slots=True)
class Mark:
    """The persisted values (both 0 when no mark existed)."""

    reserved: int = 0
    floor: int = 0


class SeqMark:
    """Reads and durably updates the high-water mark file (callers serialise access)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.existed = self.path.exists()
        self._generation = 0
        self.mark = self._read()
        self._fd = self._open()

    def _read(self) -> Mark:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Mark()
        except OSError as exc:
            log.error("sequence mark %s unreadable (%s); relying on the spool alone",
                      self.path, exc)
            return Mark()
        best: tuple[int, int, int] | None = None
        for i in range(2):
            chunk = data[i * _SLOT.size:(i + 1) * _SLOT.size]
            if len(chunk) != _SLOT.size:
                continue
            gen, reserved, floor, crc = _SLOT.unpack(chunk)
            if crc != binascii.crc32(chunk[:24]):
                continue  # a torn or damaged slot: the other one holds the previous values
            if best is None or gen > best[0]:
                best = (gen, reserved, floor)
        if best is None:
            return Mark()
        self._generation = best[0]
        return Mark(best[1], best[2])

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size < _SIZE:
            # Allocate both slots now, while there is space, so later updates never need any.
            os.pwrite(fd, b"\0" * _SIZE, 0)
            os.fsync(fd)
        return fd

    def store(self, reserved: int, floor: int) -> None:
        """Make ``reserved``/``floor`` durable (they never go down); raises OSError."""
        reserved = max(reserved, self.mark.reserved)
        floor = max(floor, self.mark.floor)
        if (reserved, floor) == (self.mark.reserved, self.mark.floor):
            return
        gen = self._generation + 1
        body = struct.pack("<QQQ", gen, reserved, floor)
        slot = _SLOT.pack(gen, reserved, floor, binascii.crc32(body))
        os.pwrite(self._fd, slot, (gen % 2) * _SLOT.size)
        os.fsync(self._fd)
        self._generation = gen
        self.mark = Mark(reserved, floor)

    def close(self) -> None:
        """Close the file (the values are already on disk)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
