"""Modbus RTU poller: configured registers -> scaled readings, limit crossings -> alarms.

One thread per bus (a bus is half-duplex: requests on it are sequential anyway). A dead
instrument or a vanished RS-485 adapter is counted and retried on the next poll; it never
stops the other instruments or the other readers.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.sensors.config import ModbusConfig, ModbusInstrumentConfig, ModbusRegisterConfig
from gateway.sensors.counters import Counters
from gateway.sensors.records import InstrumentAlarm, InstrumentReading, Measurement

log = logging.getLogger(__name__)

_WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}
_FMT = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}


def register_count(data_type: str) -> int:
    """Number of 16-bit registers a value of ``data_type`` occupies."""
    return _WIDTH[data_type]


def decode_registers(regs: Sequence[int], data_type: str, word_order: str = "big") -> float:
    """Decode raw 16-bit registers into a number; ValueError on a wrong count or range."""
    n = _WIDTH[data_type]
    if len(regs) != n:
        raise ValueError(f"{data_type} needs {n} registers, got {len(regs)}")
    if any(not 0 <= r <= 0xFFFF for r in regs):
        raise ValueError("register value out of 0..65535")
    words = list(regs) if word_order == "big" else list(reversed(regs))
    (value,) = struct.unpack(_FMT[data_type], struct.pack(f">{n}H", *words))
    return float(value)


def scale_value(raw: float, reg: ModbusRegisterConfig) -> float:
    """Apply the configured ``raw * scale + offset``."""
    return raw * reg.scale + reg.offset


class LimitTracker:
    """High/low limit state per register with hysteresis; reports edges only."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str, str], bool] = {}

    def update(self, instrument: str, reg: ModbusRegisterConfig,
               value: float) -> list[tuple[str, bool, float]]:
        """Return [(kind, raised, limit)] for limits whose state changed with ``value``."""
        out = []
        for kind, limit in (("high", reg.high_limit), ("low", reg.low_limit)):
            if limit is None:
                continue
            key = (instrument, reg.name, kind)
            was = self._active.get(key, False)
            if kind == "high":
                now = value >= limit - reg.hysteresis if was else value > limit
            else:
                now = value <= limit + reg.hysteresis if was else value < limit
            if now != was:
                self._active[key] = now
                out.append((kind, now, limit))
        return out


def _default_client(cfg: ModbusConfig) -> Any:
    from pymodbus.client import ModbusSerialClient

    s = cfg.serial
    return ModbusSerialClient(
        s.port, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity,
        stopbits=s.stopbits, timeout=cfg.timeout_s, retries=cfg.retries,
        reconnect_delay=0,  # reconnects are paced by the poll loop, not inside pymodbus
    )


class ModbusPoller:
    """Polls every configured register of every instrument on one bus, in its own thread."""

    def __init__(
        self,
        cfg: ModbusConfig,
        on_reading: Callable[[InstrumentReading], None] | None = None,
        on_alarm: Callable[[InstrumentAlarm], None] | None = None,
        *,
        counters: Counters | None = None,
        client_factory: Callable[[ModbusConfig], Any] = _default_client,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cfg = cfg
        self.on_reading = on_reading
        self.on_alarm = on_alarm
        self.counters = counters if counters is not None else Counters()
        self._client_factory = client_factory
        self._client: Any = None
        self._clock = clock
        self._limits = LimitTracker()
        self._down: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the polling thread."""
        self._thread = threading.Thread(target=self._run, name=f"modbus:{self.cfg.serial.port}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and close the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.cfg.poll_interval_s)

    def _close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a dead port may fail any way
                self._client.close()
            self._client = None

    def _connect(self) -> bool:
        if self._client is None:
            self._client = self._client_factory(self.cfg)
        try:
            ok = bool(self._client.connect())
        except Exception:  # pymodbus raises many kinds on a dead port: all mean "not connected"
            ok = False
        if not ok:
            self.counters.add("open_failures")
            if "__port__" not in self._down:
                self._down.add("__port__")
                log.warning("modbus %s: cannot open the port; retrying every poll",
                            self.cfg.serial.port)
            self._close()
        elif "__port__" in self._down:
            self._down.discard("__port__")
            self.counters.add("reopened")
            log.info("modbus %s: port back", self.cfg.serial.port)
        return ok

    def poll_once(self) -> int:
        """Read everything once; return the number of readings produced."""
        if not self._connect():
            return 0
        produced = 0
        for inst in self.cfg.instruments:
            for reg in inst.registers:
                if self._stop.is_set():
                    return produced
                value = self._read(inst, reg)
                if value is None:
                    continue
                produced += 1
                self._emit(inst, reg, value)
        self.counters.add("polls")
        return produced

    def _read(self, inst: ModbusInstrumentConfig, reg: ModbusRegisterConfig) -> float | None:
        count = register_count(reg.data_type)
        fn = (self._client.read_holding_registers if reg.function == "holding"
              else self._client.read_input_registers)
        try:
            rr = fn(reg.address, count=count, device_id=inst.unit_id)
            if rr.isError():
                raise RuntimeError(f"exception response {rr}")
            raw = decode_registers(rr.registers, reg.data_type, reg.word_order)
        except Exception as exc:  # one failing instrument must not stop polling the others
            self.counters.add(f"read_errors.{inst.name}")
            if inst.name not in self._down:
                self._down.add(inst.name)
                log.warning("modbus %s/%s: read failed (%s); check wiring, unit id %d, "
                            "register %d. Retrying every poll.", inst.name, reg.name,
                            type(exc).__name__, inst.unit_id, reg.address)
            if "Connection" in type(exc).__name__ or isinstance(exc, OSError):
                self._close()  # adapter gone: reopen on the next poll
            return None
        if inst.name in self._down:
            self._down.discard(inst.name)
            log.info("modbus %s: answering again", inst.name)
        self.counters.add("readings")
        return scale_value(raw, reg)

    def _emit(self, inst: ModbusInstrumentConfig, reg: ModbusRegisterConfig, value: float) -> None:
        now = self._clock()
        m = Measurement(reg.name, reg.unit, value)
        self._call(self.on_reading, InstrumentReading(inst.name, m, now))
        for kind, raised, limit in self._limits.update(inst.name, reg, value):
            self.counters.add("alarms")
            self._call(self.on_alarm, InstrumentAlarm(inst.name, reg.name, kind, raised, m,
                                                      limit, now))

    def _call(self, cb: Callable[[Any], None] | None, rec: object) -> None:
        if cb is None:
            return
        try:
            cb(rec)
        except Exception:  # a consumer bug must not stop polling
            self.counters.add("callback_errors")
            log.exception("modbus: callback failed")
