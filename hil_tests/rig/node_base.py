"""What every node driver offers, and the console behaviour they share.

Why: the simulated node (:mod:`hil_tests.rig.node_sim`) and the real board
(:mod:`hil_tests.rig.node_board`) read the same console lines (``BOOT``, ``TX type= seq=``,
``SENT seq=``, ``SLEEP``, ``WAKE``: printed by ``firmware/main.py`` and ``firmware/board/hw.py``
on hardware, by ``hil_tests/sim/sim_node.py`` in the simulation), so the frame accounting built
on them is written once, here, as labgrid does with its console protocol and
``ConsoleExpectMixin``. The drivers differ only in how lines reach the :class:`Console` and in
what they can do to the board (power, stimuli, provisioning).

Contract: a scenario talks to a node through :class:`NodeDriver` only; a driver that cannot do
what a scenario asks raises :class:`NodeDriverError` naming what the rig lacks.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hil_tests.rig.console import Console

if TYPE_CHECKING:
    from hil_tests.rig.keyfile import NodeKeyFile
    from hil_tests.rig.model import NodeSpec

SENT = r"^SENT seq=(\d+)"
TX = r"^TX type=(\d+) seq=(\d+)"
POLL_S = 0.05  # console lines arrive every few ms; a frame takes >= 20 ms at 9600 baud


class NodeDriverError(AssertionError):
    """The node did not do what the scenario waited for, or the rig cannot make it; says which.

    An ``AssertionError`` so that pytest reports it as the scenario's failure, with the text.
    """


@runtime_checkable
class NodeDriver(Protocol):
    """A sensor node under test: provision, power, stimuli and its console."""

    spec: NodeSpec
    name: str
    node_id: int
    console: Console
    key: bytes | None
    boots: int

    @property
    def running(self) -> bool: ...

    def provision(self, keyfile: NodeKeyFile, key: bytes | None = None) -> bytes: ...
    def set_input(self, sensor: str, value: int) -> None: ...
    def power_on(self) -> None: ...
    def power_off(self, mid_frame: bool = False, frame_type: int | None = None) -> None: ...
    def arm_power_cut(self, frame_type: int | None = None) -> None: ...
    def power_cycle(self) -> None: ...
    def reset(self) -> None: ...
    def expect(self, pattern: str | re.Pattern[str], timeout: float = 10.0) -> re.Match[str]: ...
    def sent_seqs(self) -> list[int]: ...
    def sent_times(self) -> dict[int, float]: ...
    def sent_frames(self) -> dict[int, int]: ...
    def started_frames(self) -> dict[int, int]: ...
    def wait_frames(self, n: int, timeout: float = 30.0, since: int | None = None) -> None: ...
    def close(self) -> None: ...


class ConsoleFramesMixin:
    """Mixin: ``expect`` and the frame accounting read off a node's console lines.

    A driver sets ``name`` and ``console`` and may override two hooks: ``_console_ready``
    (start reading lines if the driver reads them on demand) and ``_why_no_frames`` (a reason
    waiting for frames is pointless, e.g. the node's process has exited).
    """

    name: str
    console: Console
    frames_hint = ""  # appended to the "frames not sent" error: where to look

    def _console_ready(self) -> None:
        """Make sure console lines are being read (default: they always are)."""

    def _why_no_frames(self) -> str | None:
        """Why no further frame can come (the node is not running), or None."""
        return None

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 10.0) -> re.Match[str]:
        """Wait for a console line matching ``pattern`` after the last match (see Console)."""
        self._console_ready()
        return self.console.expect(pattern, timeout)

    def sent_seqs(self) -> list[int]:
        """Node sequence numbers of every frame that went out completely (console SENT)."""
        return [int(m.group(1)) for m in self.console.findall(SENT)]

    def sent_times(self) -> dict[int, float]:
        """seq -> time.monotonic() when the frame was completely on the wire."""
        return {int(m.group(1)): t for t, m in self.console.findall_timed(SENT)}

    def sent_frames(self) -> dict[int, int]:
        """seq -> frame type for every complete frame (TX followed by SENT).

        A SENT whose TX line was not read (the console was opened mid-frame, or a line was
        garbled on a real USB console) has no known type and is left out rather than guessed.
        """
        types = self.started_frames()
        return {s: types[s] for s in self.sent_seqs() if s in types}

    def started_frames(self) -> dict[int, int]:
        """seq -> frame type for every frame the node began to send (console TX).

        A superset of :meth:`sent_frames`: a power cut between the last byte leaving the UART
        and the ``SENT`` line (or before the rig read it) leaves a frame that the gateway may
        have received whole, with no ``SENT``.
        """
        return {int(m.group(2)): int(m.group(1)) for m in self.console.findall(TX)}

    def wait_frames(self, n: int, timeout: float = 30.0, since: int | None = None) -> None:
        """Wait until ``n`` more frames have gone out than at ``since`` (a count of sent
        frames, e.g. ``len(node.sent_seqs())`` taken earlier); default: than now."""
        self._console_ready()
        want = (len(self.sent_seqs()) if since is None else since) + n
        deadline = time.monotonic() + timeout
        while len(self.sent_seqs()) < want:
            if time.monotonic() > deadline:
                raise NodeDriverError(f"node {self.name}: {n} frames not sent within {timeout} s"
                                      f"{self.frames_hint}")
            why = self._why_no_frames()
            if why:
                raise NodeDriverError(f"node {self.name} {why}")
            time.sleep(POLL_S)
