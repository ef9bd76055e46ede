"""Node state across wakes: RTC-retained blob for deep sleep, flash for the seq counter.

Deep sleep keeps RTC memory, so the full state (seq, last report, alarm bits, last reported
values) is packed there each cycle. Power loss wipes it; then the sequence counter resumes
from a *ceiling* kept in flash. The ceiling is raised by ``seq_block`` at a time and written
before any number below it is used, so after power loss the node skips to the ceiling and
never reuses a number (the gateway would reject it as a replay). With seq_block=1024 and one
frame per minute, flash is written about once a day.
"""

import os
import struct

from epnode.crc16 import crc16

MAGIC = b"EP"
# 2 (firmware 1.1): + boot cause and last STATUS time. A version-1 blob reads as absent,
# so the first wake after an update counts as a cold boot and sends a STATUS: wanted.
STATE_VERSION = 2
# magic, version, seq, ceiling, last_report_s, alarm_bits, failures, boot_cause,
# last_status_s, n
_HEAD = ">2sBIIIHBBIB"
_HEAD_LEN = struct.calcsize(_HEAD)
MAX_VALUES = 16


class NodeState:
    """What a node remembers from one wake to the next."""

    def __init__(self) -> None:
        self.seq = 0
        self.ceiling = 0
        self.last_report_s = 0
        self.alarm_bits = 0
        self.failures = 0
        self.boot_cause = 0  # wake cause of the last cold boot (repeated in periodic STATUS)
        self.last_status_s = 0
        self.last_values: dict = {}  # quantity code -> raw value last reported

    def pack(self) -> bytes:
        """Serialise for RTC memory (with magic and CRC so garbage is never trusted)."""
        items = list(self.last_values.items())[:MAX_VALUES]
        body = struct.pack(_HEAD, MAGIC, STATE_VERSION, self.seq, self.ceiling,
                           self.last_report_s & 0xFFFFFFFF, self.alarm_bits & 0xFFFF,
                           min(self.failures, 255), self.boot_cause & 0xFF,
                           self.last_status_s & 0xFFFFFFFF, len(items))
        for q, v in items:
            body += struct.pack(">Bh", q, v)
        return body + struct.pack(">H", crc16(body))


def unpack(data: bytes):
    """Return a NodeState from RTC memory bytes, or None if absent or corrupt."""
    if len(data) < _HEAD_LEN + 2 or data[:2] != MAGIC:
        return None
    if data[2] != STATE_VERSION:
        return None
    (_magic, ver, seq, ceiling, last, bits, failures, boot_cause, last_status,
     n) = struct.unpack(_HEAD, data[:_HEAD_LEN])
    end = _HEAD_LEN + 3 * n
    if ver != STATE_VERSION or len(data) < end + 2:
        return None
    if crc16(data[:end]) != struct.unpack(">H", data[end:end + 2])[0]:
        return None
    st = NodeState()
    st.seq, st.ceiling, st.last_report_s = seq, ceiling, last
    st.alarm_bits, st.failures = bits, failures
    st.boot_cause, st.last_status_s = boot_cause, last_status
    for i in range(n):
        q, v = struct.unpack(">Bh", data[_HEAD_LEN + 3 * i:_HEAD_LEN + 3 * i + 3])
        st.last_values[q] = v
    return st


class SeqStore:
    """The seq ceiling in a small flash file, replaced atomically (write temp, rename)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.writes = 0

    def read(self) -> int:
        """Stored ceiling, or 0 when the file is missing or corrupt."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return 0
        if len(data) != 6 or crc16(data[:4]) != struct.unpack(">H", data[4:])[0]:
            return 0
        return struct.unpack(">I", data[:4])[0]

    def write(self, ceiling: int) -> None:
        """Persist ``ceiling``; raises OSError if the flash write fails."""
        body = struct.pack(">I", ceiling & 0xFFFFFFFF)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(body + struct.pack(">H", crc16(body)))
        os.rename(tmp, self.path)
        self.writes += 1


def restore(retained: bytes, store: SeqStore) -> tuple:
    """Return (state, warm): warm=True when RTC memory held a valid state (deep-sleep wake).

    On a cold start the counter resumes at the flash ceiling; the first ``next_seq`` call
    then reserves a new block before using a number.
    """
    st = unpack(retained)
    if st is not None:
        return st, True
    st = NodeState()
    st.seq = store.read()
    st.ceiling = st.seq
    return st, False


def next_seq(st: NodeState, store: SeqStore, block: int) -> int:
    """Take the next sequence number, writing a new ceiling to flash first when needed."""
    if st.seq >= st.ceiling:
        store.write(st.seq + block)
        st.ceiling = st.seq + block
    seq = st.seq
    st.seq += 1
    return seq
