"""The node-driver layer: both drivers share one console mixin, and the rig's state
transitions leave the gateway and the simulated node where they say.

The mixin is checked on a real :class:`Console` fed the lines a node prints; the
transitions on the simulated rig (real gateway process, firmware on the MicroPython VM).
"""

from __future__ import annotations

import threading

import pytest

from hil_tests.rig.console import Console
from hil_tests.rig.node_base import ConsoleFramesMixin, NodeDriver, NodeDriverError
from hil_tests.rig.node_board import BoardNode
from hil_tests.rig.node_sim import SimulatedNode
from hil_tests.rig.strategy import RigStrategy


class LinesNode(ConsoleFramesMixin):
    """The smallest driver: a console the test feeds, alive until told otherwise."""

    def __init__(self) -> None:
        self.name = "lines"
        self.console = Console("node lines")
        self.alive = True

    def _why_no_frames(self) -> str | None:
        return None if self.alive else "is not running"


def test_frame_accounting_reads_tx_and_sent_lines() -> None:
    n = LinesNode()
    for line in ("BOOT cause=power_on board=esp32", "TX type=3 seq=16 len=40", "SENT seq=16",
                 "TX type=1 seq=17 len=52", "SENT seq=17", "TX type=2 seq=18 len=30",
                 "SLEEP ms=5000", "SENT seq=19"):  # 18 never completed; 19's TX was not read
        n.console.feed(line)
    assert n.sent_seqs() == [16, 17, 19]
    # A SENT without its TX has no known type: left out, not guessed (nor a KeyError).
    assert n.sent_frames() == {16: 3, 17: 1}
    # Begun frames include 18, cut before its SENT: the gateway may have received it whole.
    assert n.started_frames() == {16: 3, 17: 1, 18: 2}
    assert set(n.sent_times()) == {16, 17, 19}
    assert n.expect(r"^SLEEP", 1).string == "SLEEP ms=5000"


def test_wait_frames_counts_from_since_and_fails_saying_why() -> None:
    n = LinesNode()
    n.console.feed("SENT seq=1")
    n.wait_frames(1, timeout=1, since=0)  # already there: counted from before it came
    feeder = threading.Timer(0.2, lambda: n.console.feed("SENT seq=2"))
    feeder.start()
    n.wait_frames(1, timeout=5)  # counted from now: needs the one fed later
    feeder.join()
    with pytest.raises(NodeDriverError, match=r"node lines: 1 frames not sent within 0.2 s"):
        n.wait_frames(1, timeout=0.2)
    n.alive = False
    with pytest.raises(NodeDriverError, match="node lines is not running"):
        n.wait_frames(1, timeout=5)


def test_seek_last_puts_the_cursor_after_the_last_match() -> None:
    c = Console("c")
    for line in ("SENT seq=1", "SLEEP ms=1", "SENT seq=2", "SLEEP ms=2"):
        c.feed(line)
    assert c.seek_last(r"^SENT") == 3
    assert c.expect(r"^SLEEP", 1).string == "SLEEP ms=2"
    assert c.seek_last(r"^NOPE") == 4  # no match: the cursor stays


def test_both_drivers_are_node_drivers_sharing_the_mixin() -> None:
    for cls in (SimulatedNode, BoardNode):
        assert issubclass(cls, ConsoleFramesMixin)
        for name in ("sent_seqs", "sent_times", "sent_frames", "started_frames", "wait_frames"):
            assert name not in vars(cls), f"{cls.__name__} copies {name} instead of sharing it"


def test_transitions_bring_gateway_and_node_into_each_state(rig, gateway, node, events) -> None:
    assert isinstance(node, NodeDriver)
    s = RigStrategy(gateway, node)
    with pytest.raises(ValueError, match="unknown rig state 'asleep': one of off, gateway_up"):
        s.transition("asleep")  # type: ignore[arg-type]

    s.transition("gateway_up")
    assert gateway.running and not node.running
    assert any(m.kind == "state" and m.document.get("online") for m in events.messages)

    s.transition("node_asleep", frames=4)
    assert node.running and len(node.sent_seqs()) >= 4
    lines, cur = list(node.console.lines), node.console.cursor
    # The cursor stands right after the SLEEP that followed the 4th frame or a later one,
    # with no frame between: the next expect reads on from deep sleep.
    assert lines[cur - 1].startswith("SLEEP"), lines[:cur]
    sent = [i for i in range(cur) if lines[i].startswith("SENT")]
    assert len(sent) >= 4
    assert not any(lines[i].startswith("SLEEP") for i in range(sent[-1], cur - 1)), lines[:cur]
    boot = next(i for i, line in enumerate(lines) if line.startswith("BOOT"))
    assert lines[boot].startswith("BOOT cause=power_on") and boot < sent[0]

    s.transition("gateway_up")
    assert gateway.running and not node.running
    s.transition("off")
    assert not gateway.running and not node.running and s.state == "off"
