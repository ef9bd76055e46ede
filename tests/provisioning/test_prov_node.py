"""Node enrolment end to end against a simulated board: the real MicroPython VM on a pty,
spoken to over the raw REPL, as a USB-attached ESP32 would be."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.sensors.keys import NodeKeyRegistry
from provisioning import board_fs
from provisioning.inventory import Inventory
from provisioning.node import MIN_VERSION, BoardInfo, NodeError, check_board
from provisioning.raw_repl import RawRepl
from provisioning.sim.board import SimulatedBoard
from tests.provisioning.conftest import run_provision


@pytest.fixture
def board() -> Iterator[SimulatedBoard]:
    with SimulatedBoard() as b:
        yield b


def board_hashes(port: str, paths: list[str]) -> dict[str, str | None]:
    with RawRepl(port) as repl:
        repl.enter()
        return board_fs.remote_hashes(repl, paths)


def test_node_enrolment_end_to_end(board: SimulatedBoard, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = tmp_path / "site"
    t0 = time.monotonic()
    rc = run_provision(site, "node", "17", "--port", board.port, "--board", "esp32",
                       "--name", "res-north-pir", "--sensors", "pir,battery", "--gateway", "cp-north-1",
                       "--set", "wake_interval_s=120", "--lat", "30.274085", "--lon", "120.15507")
    first_s = time.monotonic() - t0
    out = capsys.readouterr()
    assert rc == 0, out.err
    for n in range(1, 9):
        assert f"[{n}/8]" in out.out
    assert "files match" in out.out and "the gateway accepts" in out.out

    node_json = site / "nodes" / "17" / "node.json"
    cfg = json.loads(node_json.read_text())
    key = bytes.fromhex(cfg["key"])
    assert len(key) == 32 and cfg["wake_interval_s"] == 120 and cfg["sensors"] == ["pir", "battery"]
    registry = site / "gateways" / "cp-north-1" / "node-keys.toml"
    for secret_file in (node_json, registry):
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600, secret_file
    reg = NodeKeyRegistry.from_file(registry)
    assert reg.key_for(17) == key and reg.name_for(17) == "res-north-pir"
    entry = reg.entry_for(17)  # where it stands and how often it reports (liveness)
    assert entry is not None and entry.position == (30.274085, 120.15507)
    assert entry.interval_s == 900  # the firmware default: report_interval_s was not set
    # Never printed or logged, in any form.
    everything = out.out + out.err + caplog.text
    assert key.hex() not in everything and key.hex().upper() not in everything

    with Inventory(site / "inventory.sqlite3") as inv:
        dev = inv.get("node", "17")
    assert dev is not None and dev.status == "active"
    assert dev.details["selftest"] == "ok" and dev.details["board"] == "esp32"
    assert dev.details["gateway"] == "cp-north-1" and dev.details["micropython"] == "1.27.0"

    # What is on the board is what we built (checked over a fresh connection).
    on_board = board_hashes(board.port, ["/node.json", "/main.py", "/epnode/frames.mpy",
                                         "/epnode/frames.py"])
    import hashlib
    assert on_board["/node.json"] == hashlib.sha256(node_json.read_bytes()).hexdigest()
    assert on_board["/main.py"] is not None and on_board["/epnode/frames.mpy"] is not None
    assert on_board["/epnode/frames.py"] is None  # compiled: only .mpy on the board

    # Idempotent: same key, nothing copied, still verified.
    t0 = time.monotonic()
    assert run_provision(site, "node", "17", "--port", board.port, "--board", "esp32",
                         "--name", "res-north-pir", "--sensors", "pir,battery", "--gateway", "cp-north-1",
                         "--set", "wake_interval_s=120") == 0
    rerun_s = time.monotonic() - t0
    out = capsys.readouterr().out
    assert "existing key kept" in out and "0 to write" in out and "files match" in out
    assert json.loads(node_json.read_text())["key"] == key.hex()
    entry = NodeKeyRegistry.from_file(registry).entry_for(17)
    assert entry is not None and entry.position == (30.274085, 120.15507)  # kept on a re-run
    assert rerun_s < first_s
    print(f"first enrolment {first_s:.2f} s, re-run {rerun_s:.2f} s")


def test_stale_source_files_are_removed(board: SimulatedBoard, tmp_path: Path) -> None:
    with RawRepl(board.port) as repl:
        repl.enter()
        board_fs.put(repl, "/epnode/frames.py", b"raise ImportError('old source shadows the .mpy')\n")
    assert run_provision(tmp_path / "site", "node", "5", "--port", board.port, "--board", "pico_w") == 0
    assert board_hashes(board.port, ["/epnode/frames.py"])["/epnode/frames.py"] is None


def test_dry_run_writes_nothing(board: SimulatedBoard, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    assert run_provision(site, "node", "9", "--port", board.port, "--board", "esp32", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would write /main.py" in out and "dry run" in out
    assert board_hashes(board.port, ["/main.py", "/node.json"]) == {"/main.py": None, "/node.json": None}
    assert not (site / "nodes").exists() and not (site / "node-keys.toml").exists()


def test_flash_full_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    with SimulatedBoard(flash_bytes=6000) as small:
        assert run_provision(site, "node", "3", "--port", small.port, "--board", "esp32") == 1
        err = capsys.readouterr().err
        assert "flash full" in err
        with RawRepl(small.port) as repl:
            repl.enter()
            leftovers = board_fs.remote_files(repl, ["/epnode", "/board"])
        assert not [f for f in leftovers if f.endswith(".tmp")]
    assert not (site / "node-keys.toml").exists()  # not enrolled


def test_unidentified_board_needs_board_option(board: SimulatedBoard, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run_provision(tmp_path / "site", "node", "4", "--port", board.port) == 1
    err = capsys.readouterr().err
    assert "unsupported board" in err and "webassembly" in err and "--board" in err


def test_no_such_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_provision(tmp_path / "site", "node", "4", "--port", "/dev/ttyUSB-nothing") == 1
    assert "no such serial port /dev/ttyUSB-nothing" in capsys.readouterr().err


def test_silent_port_is_not_micropython(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()  # a serial device where nothing answers
    try:
        assert run_provision(tmp_path / "site", "node", "4", "--port", os.ttyname(slave)) == 1
    finally:
        os.close(master)
        os.close(slave)
    assert "no MicroPython raw REPL answered" in capsys.readouterr().err


def test_version_and_mpy_checks() -> None:
    old = BoardInfo("micropython", (1, 19, 1), "esp32", "ESP32 module", 6, None, None)
    with pytest.raises(NodeError, match=r"unsupported MicroPython version 1\.19\.1"):
        check_board(old, None, None)
    ok = BoardInfo("micropython", MIN_VERSION, "rp2", "Raspberry Pi Pico W with RP2040", 6 | (3 << 8),
                   None, None)
    assert check_board(ok, None, None) == "pico_w"
    esp = BoardInfo("micropython", (1, 24, 0), "esp32", "ESP32", 6, None, None)
    assert check_board(esp, None, None) == "esp32"
