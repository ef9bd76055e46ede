"""A serial port reader thread that survives ports vanishing and coming back.

USB serial adapters disappear on a loose cable or a brown-out and come back, often under
the same /dev/serial/by-id name. The reader reopens with exponential backoff, logs one
line per outage (not per retry) and counts opens, losses and failed attempts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import serial

from gateway.sensors.config import SerialPortConfig
from gateway.sensors.counters import Counters

log = logging.getLogger(__name__)

Opener = Callable[..., Any]


class SerialPortReader:
    """Reads ``cfg.port`` in its own thread and hands every chunk to ``sink(bytes)``."""

    def __init__(
        self,
        cfg: SerialPortConfig,
        sink: Callable[[bytes], object],
        *,
        name: str = "",
        counters: Counters | None = None,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self.cfg = cfg
        self.sink = sink
        self.name = name or cfg.port
        self.counters = counters if counters is not None else Counters()
        self._opener = opener
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: Any = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Start the reader thread (daemon: it never keeps the process alive)."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name=f"serial:{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join; returns within about one read timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until the port is open (for tests and start-up health)."""
        return self._connected.wait(timeout)

    def write(self, data: bytes) -> bool:
        """Write to the port if open (used by pollers that share the thread model)."""
        port = self._port
        if port is None:
            return False
        try:
            port.write(data)
            return True
        except (serial.SerialException, OSError):
            return False

    # -- thread -----------------------------------------------------------------------
    def _open(self) -> Any:
        c = self.cfg
        return self._opener(
            c.port, baudrate=c.baudrate, bytesize=c.bytesize, parity=c.parity,
            stopbits=c.stopbits, timeout=c.read_timeout_s, exclusive=c.exclusive,
        )

    def _run(self) -> None:
        delay = self.cfg.reopen_initial_s
        ever_opened = False
        outage_logged = False
        while not self._stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.counters.add("open_failures")
                if not outage_logged:
                    log.warning("serial %s: cannot open (%s); retrying with backoff up to "
                                "%.0f s. Check the cable/adapter.", self.name, exc,
                                self.cfg.reopen_max_s)
                    outage_logged = True
                self._stop.wait(delay)
                delay = min(delay * 2, self.cfg.reopen_max_s)
                continue
            self._port = port
            self._connected.set()
            self.counters.add("reopened" if ever_opened else "opened")
            log.info("serial %s: %s", self.name, "reopened" if ever_opened else "opened")
            ever_opened = True
            outage_logged = False
            delay = self.cfg.reopen_initial_s
            try:
                self._pump(port)
            except (serial.SerialException, OSError) as exc:
                self.counters.add("lost")
                log.warning("serial %s: port lost (%s); reopening", self.name, exc)
                outage_logged = True
            finally:
                self._connected.clear()
                self._port = None
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()

    def _pump(self, port: Any) -> None:
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            if not data:
                continue
            self.counters.add("bytes_in", len(data))
            try:
                self.sink(data)
            except Exception:  # a consumer bug must not stop the reader: count it, go on
                self.counters.add("sink_errors")
                log.exception("serial %s: sink failed", self.name)
