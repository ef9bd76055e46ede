"""Driver: the power switch of a simulated device, i.e. its process (off = SIGKILL)."""

from __future__ import annotations

from collections.abc import Callable


class SimulatedPower:
    """Switches a simulated device by starting and SIGKILLing its process.

    ``off(mid_frame=True)`` arms the node runner to lose power halfway through the next
    frame it transmits (deterministic "cut mid-transmission"), then waits until it has.
    """

    def __init__(self, start: Callable[[], None], kill: Callable[[bool, float], None]) -> None:
        self._start = start
        self._kill = kill

    def on(self) -> None:
        self._start()

    def off(self, mid_frame: bool = False, timeout: float = 10.0) -> None:
        self._kill(mid_frame, timeout)

    def cycle(self) -> None:
        self.off()
        self.on()
