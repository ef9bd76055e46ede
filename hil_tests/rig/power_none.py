"""Driver for `power = { kind = "none" }`: every switching attempt says the rig cannot."""

from __future__ import annotations

from hil_tests.rig.power_base import PowerSwitchUnavailableError


class NoPower:
    def __init__(self, device: str) -> None:
        self.device = device

    def _no(self) -> None:
        raise PowerSwitchUnavailableError(f"{self.device}: the rig has no power switch for it")

    def on(self) -> None:
        self._no()

    def off(self, mid_frame: bool = False, timeout: float = 10.0) -> None:
        self._no()

    def cycle(self) -> None:
        self._no()
