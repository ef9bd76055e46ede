"""Driver: a real sensor node board (ESP32 / Pico W) on its USB serial console.

Its resources (rig file): the console port (``SerialConsoleSpec``), the power switch of its
supply (``usb-relay`` / ``gpio`` / ``none``), test-host GPIO lines driving its sensor inputs
(``GpioStimulusSpec``), and its UART to the gateway (``SerialLinkSpec``, used by the gateway
only). The same :class:`~hil_tests.rig.node_base.NodeDriver` interface as the simulated node.

* ``provision`` enrols the board with the provisioning tool (:mod:`provisioning.node`: identify,
  key, node.json, compile, copy, verify hashes, self-test) over the console port, then puts
  its key into the rig's node key file; the key is never printed.
* The console is read with pyserial on a thread into a :class:`Console` (``expect``/``findall``).
  The port is exclusive: the reader is stopped while provisioning talks to the raw REPL.
* ``reset`` is a soft reset (Ctrl-C, Ctrl-B, Ctrl-D: a soft reboot from the friendly REPL
  runs main.py), falling back to a power cycle when the board does not answer (deep sleep).
* ``power_on/off/cycle`` go through the power switch driver; without one, ``power_off``
  fails naming the missing switch, and ``power_on`` starts the firmware by a soft reset (a
  board powered from its USB console is always on).

Console lines: the real firmware prints what the simulated board prints (``BOOT``/``WAKE`` from
firmware/main.py, ``TX``/``SENT``/``SLEEP`` from firmware/board/hw.py), so ``expect`` and the
frame accounting come from :class:`~hil_tests.rig.node_base.ConsoleFramesMixin`, as for the
simulated node. Only the simulated board's ``POWER CUT`` note (and so an armed mid-frame cut)
has no hardware counterpart: asking for it fails with a message saying so instead of waiting
for a line that can never come.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import serial

from hil_tests.rig.console import Console
from hil_tests.rig.keyfile import NodeKeyFile
from hil_tests.rig.model import GpioStimulusSpec, NodeSpec, SerialConsoleSpec
from hil_tests.rig.node_base import ConsoleFramesMixin, NodeDriverError
from hil_tests.rig.power_base import PowerSwitchUnavailableError
from hil_tests.rig.power_none import NoPower
from provisioning.firmware_build import FIRMWARE

PINS = FIRMWARE / "board" / "pins"  # shipped with provisioning (package data)
# Console lines the real board layer does not print: the simulated board's power-cut note
# (hil_tests/sim/sim_node.py). BOOT, TX, SENT, SLEEP and WAKE come from firmware/main.py and
# firmware/board/hw.py on hardware too.
SIM_ONLY = ("POWER CUT",)
SOFT_REBOOT = re.compile(r"soft reboot")


class BoardNodeError(NodeDriverError):
    """The rig (or the real firmware) cannot do what the scenario asks; says what is missing."""


class BoardNode(ConsoleFramesMixin):
    """provision / power / reset / set_input / expect on a real board
    (a :class:`~hil_tests.rig.node_base.NodeDriver`)."""

    frames_hint = " on the console (is firmware/main.py the one on it?)"

    def __init__(self, spec: NodeSpec, workdir: Path, power: Any | None = None,
                 reset_timeout_s: float = 5.0) -> None:
        if not isinstance(spec.console, SerialConsoleSpec):
            raise BoardNodeError(f"node {spec.name}: a board node needs a serial console")
        self.spec = spec
        self.name = spec.name
        self.node_id = spec.node_id
        self.port = spec.console.port
        self.baudrate = spec.console.baudrate
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.site = self.workdir / "site"
        self.power = power if power is not None else NoPower(f"node {spec.name}")
        self.reset_timeout_s = reset_timeout_s
        self.console = Console(f"node {spec.name}")
        self.key: bytes | None = None
        self.boots = 0
        self.provisioned: Any = None  # provisioning.node.NodeResult of the last enrolment
        self._powered = False
        self._serial: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._gpio: dict[int, subprocess.Popen[bytes]] = {}
        self._pins = json.loads((PINS / f"{spec.board}.json").read_text())

    # -- the console port -----------------------------------------------------------------
    def _open(self) -> serial.Serial:
        try:
            return serial.Serial(self.port, self.baudrate, timeout=0.1, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            text = str(exc)
            if "No such file" in text or "Errno 2" in text:
                why = "does not exist: is the board plugged in? (ls /dev/serial/by-id/)"
            elif "Permission denied" in text or "Errno 13" in text:
                why = "is not accessible: add the test user to the 'dialout' group"
            else:
                why = f"cannot be opened ({text})"
            raise BoardNodeError(f"node {self.name}: console port {self.port} {why}") from None

    def start_console(self, wait_s: float = 0.0) -> None:
        """Open the console port and read it into ``self.console`` on a thread.

        ``wait_s``: retry that long (a board's own USB-serial chip re-enumerates after its
        supply comes back).
        """
        if self._reader is not None and self._reader.is_alive():
            return
        self.stop_console()  # a reader that died with an unplugged port leaves it open
        deadline = time.monotonic() + wait_s
        while True:
            try:
                ser = self._open()
                break
            except BoardNodeError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
        self._serial = ser
        self._stop.clear()
        self._reader = threading.Thread(target=self._read, args=(ser,), daemon=True,
                                        name=f"console-{self.name}")
        self._reader.start()

    def stop_console(self) -> None:
        """Stop the reader and release the port (provisioning needs it exclusively)."""
        self._stop.set()
        if self._reader is not None:
            self._reader.join(5)
        self._reader = None
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
        self._serial = None

    def _read(self, ser: serial.Serial) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self._stop.is_set():  # unplugged, or the board re-enumerated
                    self.console.feed(f"# rig: console read failed: {exc}")
                return
            if not chunk:
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self.console.feed(line.decode(errors="replace"))
        if buf:
            self.console.feed(buf.decode(errors="replace"))

    def _write(self, data: bytes) -> None:
        if self._serial is None:
            self.start_console()
        assert self._serial is not None
        self._serial.write(data)
        self._serial.flush()

    # -- provisioning ---------------------------------------------------------------------
    def provision(self, keyfile: NodeKeyFile, key: bytes | None = None) -> bytes:
        """Enrol the board with the provisioning tool; its key goes into ``keyfile``.

        ``key``: enrol with this key (kept in the rig's private site folder first, which the
        tool re-uses as an existing node's key); default: the tool makes a new one.
        """
        from provisioning.node import NodeError, NodeOptions, provision_node
        from provisioning.node_registry import read_registry
        from provisioning.secrets import private_dir, write_secret
        from provisioning.site import Site

        site = Site(self.site)
        private_dir(self.site)
        if key is not None:
            ndir = private_dir(site.private(site.node_dir(self.node_id)))
            write_secret(ndir / "node.json", json.dumps({"key": key.hex()}).encode())
        opts = NodeOptions(node_id=self.node_id, port=self.port, name=self.name,
                           board=self.spec.board, sensors=list(self.spec.sensors),
                           settings={"wake_interval_s": self.spec.wake_interval_s,
                                     "report_interval_s": self.spec.report_interval_s,
                                     "seq_block": self.spec.seq_block},
                           baudrate=self.baudrate)
        if not Path(self.port).exists():
            self._open()  # raises the clear "does not exist" error
        self.stop_console()
        self.console.feed(f"# rig: provisioning node {self.node_id} on {self.port}")
        try:
            self.provisioned = provision_node(
                site, opts, progress=lambda m: self.console.feed(f"# provision: {m.strip()}"))
        except NodeError as exc:
            raise BoardNodeError(f"node {self.name}: provisioning failed: {exc}") from None
        entries = read_registry(self.provisioned.registry)
        self.key = entries[self.node_id][0]
        keyfile.add(self.node_id, self.name, self.key)
        return self.key

    # -- stimuli --------------------------------------------------------------------------
    def set_input(self, sensor: str, value: int) -> None:
        """Drive a digital sensor input (1 = active) from a test-host GPIO line (gpioset)."""
        pin = self._pins["sensors"].get(sensor)
        if pin is None:
            raise BoardNodeError(f"node {self.name}: no sensor {sensor!r} in the "
                                 f"{self.spec.board} pin map")
        if pin["type"] != "digital":
            raise BoardNodeError(f"node {self.name}: {sensor} is an ADC input; the rig can only "
                                 "drive digital inputs (no DAC driver)")
        stim = self.spec.stimulus
        if not isinstance(stim, GpioStimulusSpec) or sensor not in stim.lines:
            raise BoardNodeError(f"node {self.name}: the rig has no GPIO line driving its "
                                 f"{sensor!r} input ([nodes.stimulus] kind = \"gpio\", lines)")
        if shutil.which("gpioset") is None:
            raise BoardNodeError("gpioset is not installed (apt-get install gpiod)")
        active = pin.get("active", 1)
        level = active if value else 1 - active
        line = stim.lines[sensor]
        old = self._gpio.pop(line, None)
        if old is not None:
            old.terminate()
            old.wait(5)
        # libgpiod releases the line when gpioset exits: keep one running per level.
        self._gpio[line] = subprocess.Popen(["gpioset", "--mode=signal", stim.chip,
                                             f"{line}={level}"])

    # -- power ----------------------------------------------------------------------------
    @property
    def has_power_switch(self) -> bool:
        return not isinstance(self.power, NoPower)

    @property
    def running(self) -> bool:
        """Powered on by the rig (a real board cannot tell the rig whether it runs)."""
        return self._powered

    def _no_switch(self, what: str) -> BoardNodeError:
        return BoardNodeError(f"node {self.name}: {what} needs a power switch for the node's "
                              "supply ([nodes.power] kind = \"usb-relay\" or \"gpio\"); this rig "
                              "has none")

    def power_on(self) -> None:
        """Switch the supply on (or, without a switch, start the firmware by a soft reset)."""
        if self.has_power_switch:
            self.power.on()
            self.start_console(wait_s=10.0)
            self.boots += 1
            self.console.feed(f"# rig: power on (boot {self.boots})")
        else:
            self.start_console()
            self.console.feed("# rig: no power switch: the board runs from its USB console; "
                              "soft reset instead of power on")
            self._soft_reset()
        self._powered = True

    def power_off(self, mid_frame: bool = False, frame_type: int | None = None) -> None:
        """Cut the supply. A mid-frame cut is not possible on this rig (see arm_power_cut)."""
        if mid_frame:
            self.arm_power_cut(frame_type)
        if not self.has_power_switch:
            raise self._no_switch("power_off")
        try:
            self.power.off()
        except PowerSwitchUnavailableError as exc:
            raise BoardNodeError(f"node {self.name}: {exc}") from None
        self._powered = False
        self.console.feed("# rig: power off")

    def arm_power_cut(self, frame_type: int | None = None) -> None:
        raise BoardNodeError(
            f"node {self.name}: a power cut halfway through a frame needs the simulated board "
            "(it cuts inside its UART write); on hardware a relay cannot be timed to a frame "
            "from the console's TX line (USB latency): this needs a frame tap on the node link")

    def power_cycle(self) -> None:
        if not self.has_power_switch:
            raise self._no_switch("power_cycle")
        self.power.cycle()
        self.start_console(wait_s=10.0)
        self._powered = True
        self.boots += 1
        self.console.feed(f"# rig: power cycle (boot {self.boots})")

    def reset(self) -> None:
        """Soft reset (the firmware restarts from main.py); a power cycle if it does not answer."""
        self.start_console()
        try:
            self._soft_reset()
        except BoardNodeError:
            if not self.has_power_switch:
                raise
            self.console.feed("# rig: no answer to the soft reset: power cycle")
            self.power_cycle()
            return
        self._powered = True

    def _soft_reset(self) -> None:
        """Ctrl-C twice (stop main.py), Ctrl-B (leave raw mode), Ctrl-D: soft reboot.

        From the friendly REPL a soft reboot runs boot.py and main.py (from the raw REPL it
        would not). A board in deep sleep does not listen: then no reboot line comes.
        """
        mark = len(self.console.lines)
        self._write(b"\r\x03")
        time.sleep(0.1)
        self._write(b"\x03\x02")
        time.sleep(0.1)
        self._write(b"\x04")
        deadline = time.monotonic() + self.reset_timeout_s
        while time.monotonic() < deadline:
            if any(SOFT_REBOOT.search(line) for line in self.console.lines[mark:]):
                self.boots += 1
                self.console.feed(f"# rig: soft reset (boot {self.boots})")
                return
            time.sleep(0.05)
        tail = "\n".join(self.console.lines[-10:])
        raise BoardNodeError(f"node {self.name}: no 'soft reboot' within {self.reset_timeout_s} s "
                             "after Ctrl-C Ctrl-B Ctrl-D (asleep, hung, or not MicroPython?); "
                             f"console tail:\n{tail}")

    # -- console (frame accounting: ConsoleFramesMixin) -----------------------------------
    def _sim_only(self, what: str) -> BoardNodeError:
        return BoardNodeError(
            f"node {self.name}: {what} relies on console lines only the simulated board prints "
            f"({', '.join(SIM_ONLY)}; hil_tests/sim/sim_node.py). On hardware this needs a "
            "relay timed from a frame tap on the node link.")

    def _console_ready(self) -> None:
        if self._reader is None:
            self.start_console()

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 10.0) -> re.Match[str]:
        text = pattern if isinstance(pattern, str) else pattern.pattern
        head = text.lstrip("^")
        if any(head.startswith(p) for p in SIM_ONLY):
            raise self._sim_only(f"expect({text!r})")
        return super().expect(pattern, timeout)

    def close(self) -> None:
        self.stop_console()
        for proc in self._gpio.values():
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        self._gpio.clear()
