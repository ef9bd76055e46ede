"""Test board for the MicroPython VM: the Board interface over plain data.

Sensors are dicts (pin -> level, pin -> millivolts), the RTC is a counter, RTC memory a
bytes attribute, flash is the VM's own filesystem (so epnode.state's real file code runs),
and the UART is either a list (MemUart) or the host pty (HostUart via the JS ``hostio``).
"""

import os

from epnode import frames
from epnode.boardapi import Board


class MemUart:
    """Collects written frames; ``fail`` makes writes raise like a dead UART."""

    def __init__(self) -> None:
        self.out = []
        self.fail = False

    def write(self, data: bytes) -> int:
        if self.fail:
            raise OSError(5)
        self.out.append(bytes(data))
        return len(data)


class HostUart:
    """Writes frames to the pty given to the runner with --uart."""

    def __init__(self) -> None:
        import hostio

        self._hostio = hostio
        self.count = 0

    def write(self, data: bytes) -> int:
        import binascii

        self._hostio.uart_write(binascii.hexlify(data).decode())
        self.count += 1
        return len(data)


class CardUart:
    """The card reader's UART: bytes the test queues come out of read() (None when empty)."""

    def __init__(self) -> None:
        self.pending = b""
        self.fail = False

    def feed(self, data: bytes) -> None:
        self.pending += data

    def read(self):
        if self.fail:
            raise OSError(5)
        data, self.pending = self.pending, b""
        return data or None


class FakeMqtt:
    """umqtt.simple look-alike recording publishes."""

    def __init__(self, board) -> None:
        self.board = board

    def connect(self) -> None:
        if self.board.mqtt_fail:
            raise OSError(113)
        self.board.mqtt_log.append("connect")

    def publish(self, topic, msg, retain=False, qos=0) -> None:
        self.board.mqtt_log.append((topic, bytes(msg), qos))

    def disconnect(self) -> None:
        self.board.mqtt_log.append("disconnect")


def _rmtree(path: str) -> None:
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + "/" + n
        try:
            os.remove(p)
        except OSError:
            _rmtree(p)
    os.rmdir(path)


class TestBoard(Board):
    """A board whose inputs and clocks the test sets directly."""

    pins_dir = "/fw/board/pins/"

    def __init__(self, name: str = "esp32", flash: str = "/flash", uart=None) -> None:
        self.name = name
        _rmtree(flash)
        os.mkdir(flash)
        self.flash_dir = flash + "/"
        self.digital = {}
        self.adc = {}
        self.clock = 1_000_000
        self.retained = b""
        self.cause = frames.W_POWER_ON
        self.wdt_timeout = None
        self.wdt_feeds = 0
        self.slept = []
        self.uart = uart if uart is not None else MemUart()
        self.uart_args = None
        self.mqtt_fail = False
        self.mqtt_log = []
        self.broken_pins = set()
        self.card = CardUart()
        self.pauses = []
        self.card_args = None

    def write_config(self, cfg) -> None:
        import json

        with open(self.flash_dir + "node.json", "w") as f:
            f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))

    def power_loss(self) -> None:
        """RTC memory and the clock are gone; flash stays."""
        self.retained = b""
        self.cause = frames.W_POWER_ON

    # Board interface
    def wake_cause(self) -> int:
        return self.cause

    def read_digital(self, pin: int, pull: str) -> int:
        if pin in self.broken_pins:
            raise OSError(19)
        v = self.digital.get(pin, 0)
        if isinstance(v, list):  # a bouncing input: successive samples
            return v.pop(0) if len(v) > 1 else v[0]
        return v

    def read_adc_mv(self, pin: int) -> int:
        if pin in self.broken_pins:
            raise OSError(19)
        return self.adc.get(pin, 0)

    def sleep_ms(self, ms: int) -> None:
        self.pauses.append(ms)

    def now_s(self) -> int:
        return self.clock

    def retained_read(self) -> bytes:
        return self.retained

    def retained_write(self, data: bytes) -> None:
        self.retained = bytes(data)

    def wdt_start(self, timeout_ms: int) -> None:
        self.wdt_timeout = timeout_ms

    def wdt_feed(self) -> None:
        self.wdt_feeds += 1

    def open_uart(self, uart_id: int, baud: int, tx: int, rx: int):
        self.uart_args = (uart_id, baud, tx, rx)
        return self.uart

    def open_card_reader(self, uart_id: int, baud: int, tx: int, rx: int):
        self.card_args = (uart_id, baud, tx, rx)
        return self.card

    def open_mqtt(self, cfg: dict):
        return FakeMqtt(self)

    def deep_sleep(self, ms: int, wake_pins: list) -> None:
        self.slept.append((ms, wake_pins))
        self.clock += ms // 1000
        self.cause = frames.W_TIMER
