"""SerialPortReader on real ptys: data flows, a vanished port is reopened with backoff."""

from __future__ import annotations

import contextlib
import os
import time
import tty
from pathlib import Path

from gateway.sensors.config import SerialPortConfig
from gateway.sensors.serialport import SerialPortReader


def _pty() -> tuple[int, int]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave


def _wait(cond, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_port_vanishes_and_comes_back(tmp_path: Path) -> None:
    """Like a USB adapter under /dev/serial/by-id: the link goes away, then reappears."""
    link = tmp_path / "ttyNODE"
    master, slave = _pty()
    link.symlink_to(os.ttyname(slave))
    got = bytearray()
    cfg = SerialPortConfig(port=str(link), reopen_initial_s=0.05, reopen_max_s=0.2,
                           read_timeout_s=0.05)
    reader = SerialPortReader(cfg, got.extend, name="node")
    reader.start()
    try:
        assert reader.wait_connected(5)
        os.write(master, b"before")
        assert _wait(lambda: bytes(got) == b"before")
        # unplug: the device node disappears and the open descriptor errors out
        os.close(master)
        os.close(slave)
        link.unlink()
        assert _wait(lambda: reader.counters.get("lost") == 1)
        assert _wait(lambda: reader.counters.get("open_failures") >= 2)
        assert not reader.connected
        # replug: a new pty under the same stable name
        master, slave = _pty()
        link.symlink_to(os.ttyname(slave))
        assert _wait(lambda: reader.counters.get("reopened") == 1)
        os.write(master, b"+after")
        assert _wait(lambda: bytes(got) == b"before+after")
    finally:
        reader.stop()
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)
    assert not reader._thread.is_alive()  # type: ignore[union-attr]


def test_missing_port_backoff_grows_and_stop_is_prompt(tmp_path: Path) -> None:
    cfg = SerialPortConfig(port=str(tmp_path / "nothing"), reopen_initial_s=0.02,
                           reopen_max_s=0.08)
    reader = SerialPortReader(cfg, lambda b: None)
    reader.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    reader.stop()
    assert time.monotonic() - t0 < 1.0
    n = reader.counters.get("open_failures")
    # 0.02, 0.04, 0.08, 0.08 ... in 0.5 s: far fewer attempts than without backoff
    assert 3 <= n <= 10, n


def test_sink_exception_counted_reader_keeps_going() -> None:
    master, slave = _pty()
    calls = []

    def sink(b: bytes) -> None:
        calls.append(b)
        raise ValueError("bug")

    reader = SerialPortReader(SerialPortConfig(port=os.ttyname(slave), read_timeout_s=0.05), sink)
    reader.start()
    try:
        assert reader.wait_connected(5)
        os.write(master, b"a")
        assert _wait(lambda: len(calls) == 1)
        os.write(master, b"b")
        assert _wait(lambda: len(calls) == 2)
        assert reader.counters.get("sink_errors") == 2
    finally:
        reader.stop()
        os.close(master)
        os.close(slave)
