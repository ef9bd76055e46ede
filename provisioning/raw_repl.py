"""Client of MicroPython's raw REPL over a serial port (the protocol mpremote uses).

Protocol (docs.micropython.org, "raw REPL"): Ctrl-C interrupts whatever runs, Ctrl-A enters
raw mode (``raw REPL; CTRL-B to exit\\r\\n>``), the client sends code and Ctrl-D, the board
answers ``OK``, runs it, and sends stdout, ``\\x04``, stderr (a traceback), ``\\x04``, ``>``.
Raw-paste mode (flow-controlled) is not used: plain raw mode works on every port and
version, and we pace large inputs ourselves as mpremote does without raw paste.
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType

import serial

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
SOFT_REBOOT = b"soft reboot\r\n"
# mpremote writes raw-mode input in 256-byte blocks with a pause when raw paste is
# unavailable, so that a board's small UART/USB receive buffer never overflows.
BLOCK = 256
BLOCK_PAUSE_S = 0.01


class ReplError(RuntimeError):
    """Talking to the board failed; ``str()`` says what to check."""


class PortNotFoundError(ReplError):
    """The serial port does not exist or cannot be opened."""


class NotMicroPythonError(ReplError):
    """Something answered (or nothing did), but not a MicroPython raw REPL."""


class BoardRaisedError(ReplError):
    """Code run on the board raised; ``traceback`` is the board's stderr."""

    def __init__(self, traceback: str) -> None:
        last = traceback.strip().splitlines()[-1] if traceback.strip() else "error"
        super().__init__(f"the board raised: {last}")
        self.traceback = traceback


class RawRepl:
    """One serial connection in raw REPL mode. Use as a context manager."""

    def __init__(self, port: str, baudrate: int = 115200, timeout_s: float = 10.0,
                 block_pause_s: float = BLOCK_PAUSE_S) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.block_pause_s = block_pause_s
        try:
            self.serial = serial.Serial(port, baudrate, timeout=0.05, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            text = str(exc)
            if "No such file" in text or ("could not open port" in text and "Errno 2" in text):
                raise PortNotFoundError(f"no such serial port {port}: is the board plugged in? "
                                   "(ls /dev/serial/by-id/, dmesg | tail)") from None
            if "Permission denied" in text or "Errno 13" in text:
                raise PortNotFoundError(f"no permission to open {port}: add yourself to the 'dialout' "
                                   "group (sudo usermod -aG dialout $USER, then log in again)") from None
            raise PortNotFoundError(f"cannot open {port}: {text}") from None

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self.serial.write(b"\r\x02")  # back to the friendly REPL, as a technician expects
        self.serial.close()

    def __enter__(self) -> RawRepl:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def read_until(self, marker: bytes, timeout_s: float | None = None) -> bytes:
        """Read until ``marker`` (returned data includes it); ReplError on timeout."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.timeout_s)
        buf = bytearray()
        while not buf.endswith(marker):
            chunk = self.serial.read(1 if len(marker) == 1 else max(1, self.serial.in_waiting))
            if chunk:
                buf += chunk
                if marker in buf and not buf.endswith(marker):
                    # More arrived after the marker in one read: keep the rest for later.
                    i = buf.index(marker) + len(marker)
                    self._pushback(bytes(buf[i:]))
                    del buf[i:]
                continue
            if time.monotonic() > deadline:
                raise ReplError(f"timeout waiting for {marker!r}; got {bytes(buf[-80:])!r}")
        return bytes(buf)

    def _pushback(self, data: bytes) -> None:
        # pyserial has no unread; keep a small buffer consulted by read().
        self._extra = getattr(self, "_extra", b"") + data

    def enter(self, soft_reset: bool = True, attempts: int = 3) -> None:
        """Interrupt the running program and enter raw mode (optionally soft-resetting).

        A node in its main loop is interrupted by Ctrl-C; a node in deep sleep does not
        listen at all, hence several attempts and the hint to press reset.
        """
        self._install_reader()
        for attempt in range(attempts):
            self.serial.write(b"\r\x03")
            time.sleep(0.1)
            self.serial.write(b"\x03")
            time.sleep(0.1)
            self.serial.reset_input_buffer()
            self._extra = b""
            self.serial.write(b"\r\x01")
            try:
                self.read_until(RAW_BANNER, timeout_s=2.0)
                break
            except ReplError as exc:
                if attempt == attempts - 1:
                    raise NotMicroPythonError(
                        f"no MicroPython raw REPL answered on {self.port} ({exc}). Is it running "
                        "MicroPython (flash it: edgepost provision flash), is the baud rate right, "
                        "or is the node asleep? Press its reset button and retry.") from None
        if soft_reset:
            # Leaves no state from a previous session or from the node's own program.
            self.serial.write(b"\x04")
            self.read_until(SOFT_REBOOT)
            self.read_until(RAW_BANNER)

    def _install_reader(self) -> None:
        self._extra = b""
        raw_read = self.serial.read

        def read(size: int = 1) -> bytes:
            if self._extra:
                out, self._extra = self._extra[:size], self._extra[size:]
                return out
            return raw_read(size)

        self.serial.read = read  # type: ignore[method-assign]

    def exec_raw(self, code: str | bytes, timeout_s: float | None = None) -> tuple[bytes, bytes]:
        """Run ``code``; return (stdout, stderr) as bytes."""
        data = code.encode() if isinstance(code, str) else code
        self.read_until(b">")
        for i in range(0, len(data), BLOCK):
            self.serial.write(data[i:i + BLOCK])
            if len(data) > BLOCK and self.block_pause_s:
                time.sleep(self.block_pause_s)
        self.serial.write(b"\x04")
        ok = self.read_until(b"OK", timeout_s=5.0)
        if not ok.endswith(b"OK"):
            raise ReplError(f"board did not accept the code: {ok!r}")
        out = self.read_until(b"\x04", timeout_s)[:-1]
        err = self.read_until(b"\x04", timeout_s)[:-1]
        return out, err

    def exec(self, code: str | bytes, timeout_s: float | None = None) -> str:
        """Run ``code``; return its stdout, raise :class:`BoardRaisedError` if it raised."""
        out, err = self.exec_raw(code, timeout_s)
        if err:
            raise BoardRaisedError(err.decode(errors="replace"))
        return out.decode(errors="replace")
