"""Driver: a simulated sensor node, the real firmware on the MicroPython VM (Node.js).

Its resources: a :class:`PtyLink` (its UART), a flash folder (kept across power cycles),
an inputs file (its sensors), its console (the VM's stdout).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from hil_tests.rig.console import Console
from hil_tests.rig.keyfile import NodeKeyFile
from hil_tests.rig.model import FileStimulusSpec, NodeSpec
from hil_tests.rig.node_base import ConsoleFramesMixin
from hil_tests.rig.power_simulated import SimulatedPower
from hil_tests.rig.pty_link import PtyLink
from provisioning.firmware_build import FIRMWARE

SIM = Path(__file__).resolve().parents[1] / "sim"
VM_PACKAGE = FIRMWARE / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


class VmMissingError(RuntimeError):
    """Node.js or the MicroPython VM package is not installed."""


class SimulatedNode(ConsoleFramesMixin):
    """provision / power / reset / set_input / expect, like a board on a real rig
    (a :class:`~hil_tests.rig.node_base.NodeDriver`)."""

    def __init__(self, spec: NodeSpec, link: PtyLink, workdir: Path) -> None:
        node = shutil.which("node")
        if node is None or not VM_PACKAGE.is_dir():
            raise VmMissingError("MicroPython VM missing: run scripts/setup.sh (nodejs, npm "
                                 "install in firmware/)")
        assert isinstance(spec.stimulus, FileStimulusSpec)
        self.spec = spec
        self.name = spec.name
        self.node_id = spec.node_id
        self.link = link
        self._node = node
        self.workdir = Path(workdir)
        self.flash = self.workdir / "flash"
        self.flash.mkdir(parents=True, exist_ok=True)
        self.inputs_path = self.workdir / "inputs.json"
        self.cut_path = self.workdir / "power-cut.armed"
        self._levels: dict[str, Any] = {"digital": {}, "adc": dict(spec.stimulus.adc_mv)}
        self._write_inputs()
        self.console = Console(f"node {spec.name}")
        self.power = SimulatedPower(self._start_process, self._kill_process)
        self.key: bytes | None = None
        self.boots = 0
        self._cut_type: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._pins = json.loads((FIRMWARE / "board" / "pins" / f"{spec.board}.json").read_text())

    # -- provisioning ---------------------------------------------------------------------
    def provision(self, keyfile: NodeKeyFile, key: bytes | None = None) -> bytes:
        """Give the node an identity: node.json on its flash, its key in the gateway's file."""
        self.key = key or os.urandom(32)
        cfg = {"node_id": self.node_id, "key": self.key.hex(), "sensors": self.spec.sensors,
               "wake_interval_s": self.spec.wake_interval_s,
               "report_interval_s": self.spec.report_interval_s,
               "seq_block": self.spec.seq_block}
        if self.spec.card_reader:
            cfg["card_reader"] = self.spec.card_reader
        (self.flash / "node.json").write_text(json.dumps(cfg))
        keyfile.add(self.node_id, self.name, self.key, self.spec.position)
        return self.key

    # -- stimuli --------------------------------------------------------------------------
    def set_input(self, sensor: str, value: int) -> None:
        """Set a sensor input by name: digital level (1 = active) or ADC millivolts."""
        pin = self._pins["sensors"][sensor]
        if pin["type"] == "digital":
            active = pin.get("active", 1)
            self._levels["digital"][str(pin["pin"])] = active if value else 1 - active
        else:
            self._levels["adc"][str(pin["pin"])] = int(value)
        self._write_inputs()

    def feed_card(self, data: bytes) -> None:
        """Bytes from the card reader's UART (e.g. an EM4100 frame): the node reads them at
        once (the reader's line wakes it) or at its next wake."""
        card = self._levels.get("card", {"n": 0})
        self._levels["card"] = {"n": card["n"] + 1, "hex": data.hex()}
        self._write_inputs()

    def _write_inputs(self) -> None:
        tmp = self.inputs_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._levels))
        os.replace(tmp, self.inputs_path)

    # -- power ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def power_on(self) -> None:
        self.power.on()

    def power_off(self, mid_frame: bool = False, frame_type: int | None = None) -> None:
        """Cut the supply; ``mid_frame``: halfway through the next frame (of ``frame_type``)."""
        self._cut_type = frame_type
        self.power.off(mid_frame=mid_frame)

    def arm_power_cut(self, frame_type: int | None = None) -> None:
        """Make the supply fail halfway through the next frame (of ``frame_type``)."""
        self.cut_path.write_text("" if frame_type is None else str(frame_type))

    def power_cycle(self) -> None:
        self.power.cycle()

    def reset(self) -> None:
        """Reset button: the board restarts (RTC memory is lost in the simulation)."""
        self.power.cycle()

    def _start_process(self) -> None:
        if self.running:
            return
        self.cut_path.unlink(missing_ok=True)
        cmd = [self._node, str(SIM / "node_vm.mjs"), "--firmware", str(FIRMWARE),
               "--sim", str(SIM), "--flash", str(self.flash), "--uart-fd", str(self.link.node_fd),
               "--baud", str(self.link.baudrate), "--inputs", str(self.inputs_path),
               "--cut-file", str(self.cut_path),
               "--arg", json.dumps({"board": self.spec.board, "time_scale": self.spec.time_scale,
                                    "fault": os.environ.get("HIL_FAULT", "")}),
               str(SIM / "sim_node.py")]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, pass_fds=(self.link.node_fd,), cwd=FIRMWARE)
        self.boots += 1
        self.console.feed(f"# rig: power on (boot {self.boots})")
        self._reader = threading.Thread(target=self.console.feed_lines, args=(self._proc.stdout,),
                                        daemon=True, name=f"console-{self.name}")
        self._reader.start()

    def _kill_process(self, mid_frame: bool, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if mid_frame and proc.poll() is None:
            if not self.cut_path.exists():
                self.arm_power_cut(self._cut_type)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        self.cut_path.unlink(missing_ok=True)
        self.console.feed("# rig: power off")
        self._proc = None

    # -- console (expect and frame accounting: ConsoleFramesMixin) -----------------------
    def _why_no_frames(self) -> str | None:
        return None if self.running else "is not running"

    def close(self) -> None:
        self._kill_process(False, 0)
