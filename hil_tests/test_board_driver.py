"""The real-board node driver (BoardNode) up to the hardware boundary.

Driven against ``provisioning.sim.board.SimulatedBoard``: the real MicroPython VM behind a
pty speaking the raw REPL, as a USB-attached ESP32 would. Nothing on the board is mocked.
What only real hardware can show (power switching, deep sleep, the firmware's own boot)
is listed in docs/hil.md ("Real boards").
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.sensors.keys import NodeKeyRegistry
from hil_tests.rig.model import RigSpec
from hil_tests.rig.node_board import BoardNode, BoardNodeError
from hil_tests.rig.rig import Rig
from provisioning.raw_repl import RawRepl
from provisioning.sim.board import SimulatedBoard, SimulatorUnavailableError


def rig_spec(console_port: str) -> RigSpec:
    """A rig with one hardware node: serial console on ``console_port``, no power switch."""
    return RigSpec.model_validate({
        "rig": {"name": "board-driver-test"},
        "broker": {"kind": "local"},
        "gateway": {"kind": "process"},
        "nodes": [{
            "name": "bench-pir-1", "node_id": 201, "board": "esp32", "kind": "hardware",
            "sensors": ["pir", "battery"],
            "link": {"kind": "serial", "gateway_port": "/dev/serial/by-id/not-used-here"},
            "console": {"kind": "serial", "port": console_port, "baudrate": 115200},
            "power": {"kind": "none"},
            "stimulus": {"kind": "gpio", "lines": {"pir": 5}},
        }],
    })


@pytest.fixture
def board() -> Iterator[SimulatedBoard]:
    try:
        b = SimulatedBoard().start()
    except SimulatorUnavailableError as exc:
        pytest.fail(str(exc))  # CI has the VM (scripts/setup.sh): never skip silently
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def rig_for(tmp_path: Path) -> Iterator[Any]:
    rigs: list[Rig] = []

    def make(port: str) -> Rig:
        (work := tmp_path / f"rig-{len(rigs)}").mkdir()
        r = Rig(rig_spec(port), work)
        rigs.append(r)
        return r

    yield make
    for r in rigs:
        r.close()


def test_board_node_provisions_resets_and_reads_the_console(
        board: SimulatedBoard, rig_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rig = rig_for(board.port)
    node = rig.make_node()
    assert isinstance(node, BoardNode)  # rig.py maps a serial console to the board driver

    # Enrolment through provisioning.node, with the rig's key, into the rig's key file.
    want = os.urandom(32)
    key = node.provision(rig.keyfile, key=want)
    assert key == want and node.key == want
    assert node.provisioned.selftest["provisioned"] is True
    assert node.provisioned.pin_map == "esp32"
    reg = NodeKeyRegistry.from_file(rig.keyfile.path)
    assert reg.key_for(201) == want and reg.name_for(201) == "bench-pir-1"
    assert stat.S_IMODE(rig.keyfile.path.stat().st_mode) == 0o600
    # What is on the board (fresh raw REPL session): the node's config with that key.
    with RawRepl(board.port) as repl:
        repl.enter()
        cfg = json.loads(repl.exec("print(open('/node.json').read())"))
        assert repl.exec("import os; print('main.py' in os.listdir('/'))").strip() == "True"
    assert cfg["node_id"] == 201 and cfg["key"] == want.hex() and cfg["board"] == "esp32"
    assert cfg["sensors"] == ["pir", "battery"] and cfg["seq_block"] == 16

    # Re-provisioning keeps the key (nothing new to register).
    assert node.provision(rig.keyfile) == want
    assert node.provisioned.written == []

    # Soft reset over the console; the board's own reboot line is read by the console thread.
    node.reset()
    assert node.running and node.boots == 1
    node.expect(r"MPY: soft reboot", 5)
    # Power on without a switch: the board runs from USB, the firmware is started by a reset.
    node.power_on()
    assert node.boots == 2
    node.expect(r"MPY: soft reboot", 5)

    # The key was never printed: not on the console (provisioning progress included), not
    # on stdout/stderr.
    out = capsys.readouterr()
    everything = "\n".join(node.console.lines) + out.out + out.err
    assert "# provision: [8/8]" in everything
    assert want.hex() not in everything and want.hex().upper() not in everything


def test_board_node_errors_name_what_the_rig_lacks(board: SimulatedBoard, rig_for: Any) -> None:
    # A console port that is not there: provisioning and power-on say so, naming the port.
    gone = "/dev/serial/by-id/usb-Silicon_Labs_CP2102-no-such-board"
    absent_rig = rig_for(gone)
    absent = absent_rig.make_node()
    with pytest.raises(BoardNodeError, match=f"console port {gone} does not exist"):
        absent.provision(absent_rig.keyfile)
    assert absent_rig.keyfile.path.read_text() == ""  # nothing enrolled
    with pytest.raises(BoardNodeError, match="does not exist: is the board plugged in"):
        absent.power_on()

    node = rig_for(board.port).make_node()
    assert isinstance(node, BoardNode) and not node.has_power_switch
    with pytest.raises(BoardNodeError, match=r"power_off needs a power switch .*has none"):
        node.power_off()
    with pytest.raises(BoardNodeError, match=r"power_cycle needs a power switch"):
        node.power_cycle()
    # A mid-frame power cut needs what only the simulated board has: a clear failure.
    for call in (lambda: node.expect("^POWER CUT"), lambda: node.arm_power_cut(2),
                 lambda: node.power_off(mid_frame=True)):
        with pytest.raises(BoardNodeError, match="simulated board"):
            call()
    assert node.sent_seqs() == []  # frames are read off the console's SENT lines
    with pytest.raises(BoardNodeError, match="ADC input"):
        node.set_input("battery", 3300)
    with pytest.raises(BoardNodeError, match="no GPIO line driving its 'tamper'"):
        node.set_input("tamper", 1)
