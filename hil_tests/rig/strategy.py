"""The rig's "transition to state" step: bring the gateway and the node into a named state.

Why: most scenarios begin the same way (gateway online with its node-link ports open, node
booted, its first frames through, asleep) and differ only in the fault they inject and what
they assert. Saying the start-up once, as labgrid's strategies do
(``strategy.transition("shell")``), keeps each scenario to its fault and its assertion, and
every scenario starts from the same checked state instead of its own copy of the lines.

The states (each one exactly what it says):

* ``off``: node powered off, gateway stopped (where the fixtures leave the rig).
* ``gateway_up``: gateway running and online, its node-link ports open; node powered off.
* ``node_asleep``: gateway up; node powered on, booted (``BOOT cause=power_on``), ``frames``
  complete frames sent since power-on, and in deep sleep after the last of them (``SLEEP``).
  The node's console cursor then stands after that ``SLEEP`` line.

Contract: ``transition`` returns once the state holds, or raises an ``AssertionError`` (a
console or gateway timeout, :class:`~hil_tests.rig.node_base.NodeDriverError`) naming the step
that failed. It remembers the state it set; a scenario that then changes the rig by hand
(kills the gateway, cuts the node) owns what it did until its next ``transition``.
"""

from __future__ import annotations

from typing import Literal, get_args

from hil_tests.rig.node_base import SENT, NodeDriver
from hil_tests.rig.rig import Gateway

State = Literal["off", "gateway_up", "node_asleep"]
STATES: tuple[str, ...] = get_args(State)

BOOT = r"^BOOT cause=power_on"
SLEEP = r"^SLEEP"
BOOT_TIMEOUT_S = 20.0  # VM start under load on a 2-core CI box; a real board boots in ~1 s
FRAMES_TIMEOUT_S = 30.0  # a node's first cycle: boot STATUS + READINGS, paced at 9600 baud
SLEEP_TIMEOUT_S = 20.0  # from the last frame to deep sleep is one cycle at most


class RigStrategy:
    """Moves one gateway and (optionally) one node between the states above."""

    def __init__(self, gateway: Gateway, node: NodeDriver | None = None) -> None:
        self.gateway = gateway
        self.node = node
        self.state: State = "off"

    def transition(self, state: State, *, frames: int = 1) -> None:
        """Bring the rig into ``state``; ``frames``: for ``node_asleep``, how many complete
        frames the node must have sent since power-on before its sleep counts."""
        if state not in STATES:
            raise ValueError(f"unknown rig state {state!r}: one of {', '.join(STATES)}")
        if state == self.state:
            return
        if state == "off":
            self._node_off()
            self.gateway.stop()
        elif state == "gateway_up":
            self._node_off()
            self._gateway_up()
        else:
            if self.node is None:
                raise ValueError("state node_asleep needs a node: RigStrategy(gateway, node)")
            self._gateway_up()
            self._node_asleep(self.node, frames)
        self.state = state

    def _gateway_up(self) -> None:
        # start() waits for online; a gateway already online would not announce it again.
        if not self.gateway.running:
            self.gateway.start()

    def _node_off(self) -> None:
        if self.node is not None and self.node.running:
            self.node.power_off()

    @staticmethod
    def _node_asleep(node: NodeDriver, frames: int) -> None:
        before = len(node.sent_seqs())
        node.power_on()
        node.expect(BOOT, BOOT_TIMEOUT_S)
        node.wait_frames(frames, FRAMES_TIMEOUT_S, since=before)
        # The SLEEP that counts is the one after the last frame, not an earlier cycle's.
        node.console.seek_last(SENT)
        node.expect(SLEEP, SLEEP_TIMEOUT_S)
