"""A simulated node board for the HIL rig: the real firmware loop (``epnode.app.run``) on the
MicroPython VM, with the rig's stimuli as sensor inputs and its pty as the UART.

Runs in the VM started by ``node_vm.mjs`` (``hostio`` is that runner's JS module).
hostio.arg(): {"board": "esp32", "time_scale": 0.05}: one second of node time (deep sleep)
takes ``time_scale`` real seconds, so a 5 s wake interval passes in 0.25 s.

Console lines (what ``node.expect()`` matches):
  BOOT cause=<name> board=<board>            after power-on
  TX type=<t> seq=<n> len=<bytes>            a frame starts on the UART
  SENT seq=<n>                               the whole frame is on the wire
  SLEEP ms=<node ms>  /  WAKE cause=<name>   deep sleep and wake
"""

import binascii
import json
import struct

import hostio
from epnode import app, cobs, frames
from epnode.boardapi import Board

CAUSES = {frames.W_POWER_ON: "power_on", frames.W_TIMER: "timer", frames.W_PIN: "pin"}
args = json.loads(hostio.arg())
SCALE = args.get("time_scale", 0.05)


def inputs() -> dict:
    try:
        return json.loads(hostio.inputs())
    except ValueError:  # the rig is rewriting the file: keep the last good view
        return {}


class SimUart:
    """The board UART: frames go to the pty; flash is synced before anything leaves."""

    def write(self, data: bytes) -> int:
        raw = cobs.decode(bytes(data[1:-1]))
        seq = struct.unpack(">I", raw[3:7])[0]
        hostio.flash_sync()  # whatever the firmware wrote to flash is persistent now
        print(f"TX type={raw[0] & 0x0F} seq={seq} len={len(data)}")
        hostio.uart_write(binascii.hexlify(bytes(data)).decode())
        print(f"SENT seq={seq}")
        return len(data)


class SimCardUart:
    """The card reader's UART: the bytes of each card the rig feeds (inputs "card": {"n",
    "hex"}), read once. Cards fed before power-on are not seen, as on hardware."""

    def __init__(self) -> None:
        self.seen = inputs().get("card", {}).get("n", 0)

    def pending(self, levels: dict) -> bool:
        return levels.get("card", {}).get("n", 0) != self.seen

    def read(self):
        card = inputs().get("card", {})
        if card.get("n", 0) == self.seen:
            return None
        self.seen = card.get("n", 0)
        return binascii.unhexlify(card.get("hex", ""))


class SimBoard(Board):
    pins_dir = "/fw/board/pins/"
    flash_dir = "/flash/"

    def __init__(self, name: str) -> None:
        self.name = name
        self.clock = 1_000_000
        self.retained = b""
        self.cause = frames.W_POWER_ON
        self.uart = SimUart()
        self.card = None
        self._levels = inputs()

    def _level(self, kind: str, pin: int) -> int:
        return int(self._levels.get(kind, {}).get(str(pin), 0))

    def wake_cause(self) -> int:
        return self.cause

    def read_digital(self, pin: int, pull: str) -> int:
        self._levels = inputs()
        return self._level("digital", pin)

    def read_adc_mv(self, pin: int) -> int:
        return self._level("adc", pin)

    def sleep_ms(self, ms: int) -> None:
        pass  # debounce samples: the simulated inputs do not bounce

    def now_s(self) -> int:
        return self.clock

    def retained_read(self) -> bytes:
        return self.retained

    def retained_write(self, data: bytes) -> None:
        self.retained = bytes(data)

    def wdt_start(self, timeout_ms: int) -> None:
        pass

    def wdt_feed(self) -> None:
        pass

    def open_uart(self, uart_id: int, baud: int, tx: int, rx: int):
        return self.uart

    def open_card_reader(self, uart_id: int, baud: int, tx: int, rx: int):
        self.card = SimCardUart()
        return self.card

    def open_mqtt(self, cfg: dict):
        raise OSError(19)  # the simulated rig links nodes by UART only

    def deep_sleep(self, ms: int, wake_pins: list) -> None:
        """Sleep in (scaled) real time; a wake pin going active ends it early (edge)."""
        # The levels are taken before "SLEEP" is printed: a pin that changes once a watcher
        # has seen that line is an edge during sleep and must wake the node.
        before = inputs()
        print(f"SLEEP ms={ms}")
        hostio.flash_sync()
        armed = [(p, a) for p, a in wake_pins
                 if int(before.get("digital", {}).get(str(p), 0)) != a]
        step = 20
        slept = 0
        cause = frames.W_TIMER
        while slept * 1000 < ms * SCALE:
            hostio.sleep_ms(step)
            slept += step / 1000
            now = inputs()
            # the card reader's line wakes the node like a pin (its bytes start the frame)
            if any(int(now.get("digital", {}).get(str(p), 0)) == a for p, a in armed) or (
                    self.card is not None and self.card.pending(now)):
                cause = frames.W_PIN
                break
        self.clock += max(1, int(slept / SCALE))
        self.cause = cause
        self._levels = inputs()
        print("WAKE cause=" + CAUSES.get(cause, "other"))


if args.get("fault") == "seq_not_persisted":  # break-it demonstration (docs/hil.md)
    from epnode import state

    state.SeqStore.write = lambda self, ceiling: None

board = SimBoard(args.get("board", "esp32"))
print("BOOT cause=power_on board=" + board.name)
app.run(board)
