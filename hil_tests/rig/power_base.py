"""What every power switch driver offers: on, off, cycle."""

from __future__ import annotations

import time
from typing import Protocol


class PowerSwitchUnavailableError(RuntimeError):
    """The rig has no way to switch this device (power scenarios skip it, saying so)."""


class PowerSwitch(Protocol):
    def on(self) -> None: ...
    def off(self) -> None: ...
    def cycle(self) -> None: ...


class TimedCycle:
    """Mixin: cycle() = off, wait ``off_time_s``, on."""

    off_time_s: float = 2.0

    def on(self) -> None:
        raise NotImplementedError

    def off(self) -> None:
        raise NotImplementedError

    def cycle(self) -> None:
        self.off()
        time.sleep(self.off_time_s)
        self.on()
