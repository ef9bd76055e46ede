"""Driver: a USB HID relay board switched with the `usbrelay` command (apt: usbrelay)."""

from __future__ import annotations

import shutil
import subprocess

from hil_tests.rig.model import UsbRelayPowerSpec
from hil_tests.rig.power_base import PowerSwitchUnavailableError, TimedCycle


class UsbRelayPower(TimedCycle):
    """``usbrelay HURTM_1=1`` energises relay 1 of board HURTM."""

    def __init__(self, spec: UsbRelayPowerSpec) -> None:
        self.spec = spec
        self.off_time_s = spec.off_time_s
        if shutil.which("usbrelay") is None:
            raise PowerSwitchUnavailableError("usbrelay is not installed (apt-get install usbrelay)")

    def _set(self, energised: bool) -> None:
        subprocess.run(["usbrelay", f"{self.spec.relay}={int(energised)}"], check=True,
                       capture_output=True, timeout=10)

    def on(self) -> None:
        self._set(self.spec.active_on)

    def off(self, mid_frame: bool = False, timeout: float = 10.0) -> None:
        self._set(not self.spec.active_on)
