"""Driver: a GPIO line of the test host (libgpiod's `gpioset`) driving a supply switch."""

from __future__ import annotations

import shutil
import subprocess

from hil_tests.rig.model import GpioPowerSpec
from hil_tests.rig.power_base import PowerSwitchUnavailableError, TimedCycle


class GpioPower(TimedCycle):
    """Keeps one `gpioset` running per state (libgpiod releases the line when it exits)."""

    def __init__(self, spec: GpioPowerSpec) -> None:
        self.spec = spec
        self.off_time_s = spec.off_time_s
        self._proc: subprocess.Popen[bytes] | None = None
        if shutil.which("gpioset") is None:
            raise PowerSwitchUnavailableError("gpioset is not installed (apt-get install gpiod)")

    def _set(self, level: int) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(5)
        self._proc = subprocess.Popen(["gpioset", "--mode=signal", self.spec.chip,
                                       f"{self.spec.line}={level}"])

    def on(self) -> None:
        self._set(1 if self.spec.active_high else 0)

    def off(self, mid_frame: bool = False, timeout: float = 10.0) -> None:
        self._set(0 if self.spec.active_high else 1)
