"""Per-node anti-replay sequence window (the scheme of IPsec's RFC 4303 section 3.4.3).

A node's sequence number only grows (it survives deep sleep and power loss on the node).
The gateway accepts a number higher than any seen, or one of the last ``size`` numbers
not seen yet (radio links reorder rarely, but retries happen); everything else is a replay.

Why the window is written to disk on every move: a window kept in memory (or saved now and
then) forgets the last accepted frames when the gateway crashes, loses power or is reset by
the watchdog, and anyone who recorded the radio link can then re-inject them as new events.

Durability rule: when an accepted frame raises a node's highest sequence number, the new
highest numbers are on disk (written to a temporary file, fsynced, renamed over the state
file, folder fsynced) before :meth:`ReplayWindow.check_and_mark` returns, i.e. before the
frame's record reaches anyone. After a restart every number up to the saved highest counts
as seen. A crash between the save and the event's own commit loses that one frame (it is
then refused as a replay) rather than ever accepting it twice. If the save fails the frame
is still accepted (the in-memory window keeps protecting this run) and the failure is
reported through ``on_save_error``: a full or read-only disk must not silence real alarms.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path


class ReplayStateError(ValueError):
    """The saved replay state cannot be read back (corrupt or foreign file)."""


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (survives a power cut).

    Raises OSError when the disk refuses; the old contents then stay in place.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    # The rename lives in the folder: without this fsync a power cut may undo it.
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_state(path: Path) -> dict[int, int]:
    """The highest sequence number per node saved in ``path`` (see :func:`write_durably`)."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return {int(k): int(v) for k, v in data.items()}
    except (TypeError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise ReplayStateError(f"{path}: not a replay state file ({exc})") from None


class ReplayWindow:
    """Sliding bitmap window per node id. Thread-safe.

    With ``state_file`` the highest numbers are persisted on every move (see the module
    docstring); without it the window lives in memory only.
    """

    def __init__(self, size: int = 64, *, state_file: Path | None = None,
                 on_save_error: Callable[[OSError], None] | None = None) -> None:
        if size < 1:
            raise ValueError("window size must be >= 1")
        self.size = size
        self.state_file = state_file
        self._on_save_error = on_save_error
        self._top: dict[int, int] = {}
        self._bits: dict[int, int] = {}
        self._lock = threading.Lock()

    def is_fresh(self, node_id: int, seq: int) -> bool:
        """Whether :meth:`check_and_mark` would accept ``seq`` now (nothing is remembered)."""
        with self._lock:
            top = self._top.get(node_id)
            if top is None or seq > top:
                return True
            offset = top - seq
            return offset < self.size and not self._bits[node_id] & (1 << offset)

    def check_and_mark(self, node_id: int, seq: int) -> bool:
        """Return True and remember ``seq`` if it is fresh; False for a replay or stale seq.

        When ``seq`` is a new highest number it is saved to ``state_file`` before returning.
        """
        with self._lock:
            top = self._top.get(node_id)
            if top is None:
                self._top[node_id] = seq
                self._bits[node_id] = 1
                self._persist()
                return True
            if seq > top:
                shift = seq - top
                bits = (self._bits[node_id] << shift) | 1 if shift < self.size else 1
                self._bits[node_id] = bits & ((1 << self.size) - 1)
                self._top[node_id] = seq
                self._persist()
                return True
            offset = top - seq
            if offset >= self.size:
                return False
            mask = 1 << offset
            if self._bits[node_id] & mask:
                return False
            # Below the top: the saved state already counts this number as seen.
            self._bits[node_id] |= mask
            return True

    def highest(self) -> dict[int, int]:
        """Snapshot of the highest sequence number seen per node."""
        with self._lock:
            return dict(self._top)

    def save(self, path: Path) -> None:
        """Write the highest seq per node durably, so a restart cannot reopen old seqs."""
        write_durably(path, self._encode(self.highest()))

    def load(self, path: Path) -> None:
        """Restore from :meth:`save`; every seq up to the saved top counts as already seen.

        Raises OSError (unreadable) or :class:`ReplayStateError` (not a state file).
        """
        saved = read_state(path)
        with self._lock:
            for node_id, top in saved.items():
                if top >= self._top.get(node_id, -1):
                    self._top[node_id] = top
                    self._bits[node_id] = (1 << self.size) - 1

    @staticmethod
    def _encode(tops: dict[int, int]) -> bytes:
        return json.dumps({str(k): v for k, v in tops.items()}, sort_keys=True).encode()

    def _persist(self) -> None:
        """Save the tops (caller holds the lock, so saves never interleave)."""
        if self.state_file is None:
            return
        try:
            write_durably(self.state_file, self._encode(self._top))
        except OSError as exc:
            if self._on_save_error is not None:
                self._on_save_error(exc)
