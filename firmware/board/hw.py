"""Real hardware board for ESP32 and Raspberry Pi Pico W.

Only this module imports ``machine``/``network``; it runs on hardware only (the tests use
a test board on the MicroPython VM). Differences between the ports:

* ESP32: ``machine.deepsleep`` powers the CPU off and the node reboots through main.py;
  RTC memory (``machine.RTC().memory()``) keeps the node state; wake pins via ext0/ext1.
* Pico W (rp2): ``machine.deepsleep`` is implemented as light sleep followed by a reset,
  which would lose RAM and has no RTC memory, so this board uses ``machine.lightsleep``:
  RAM is kept, ``app.run`` simply continues its loop, and the retained state lives in a
  module-level buffer. Wake pins raise a pin IRQ, which ends the light sleep.
"""

import sys
import time

import machine
from epnode import cobs, frames
from epnode.boardapi import Board

CAUSE_NAMES = {frames.W_POWER_ON: "power_on", frames.W_TIMER: "timer", frames.W_PIN: "pin",
               frames.W_WATCHDOG: "watchdog", frames.W_SOFT: "soft"}


def cause_name(cause: int) -> str:
    """Console spelling of a wake cause (the HIL rig reads it)."""
    return CAUSE_NAMES.get(cause, "other")


class ConsoleUart:
    """The node-link UART, announcing each frame on the USB console.

    ``TX`` before and ``SENT`` once the bytes are out (after ``flush``) let a test rig
    match what it sees on the link with what the node sent (docs/hil.md). The cost is one
    short console line per frame.
    """

    def __init__(self, uart) -> None:
        self._uart = uart

    def write(self, data: bytes) -> int:
        try:
            raw = cobs.decode(bytes(data[1:-1]))
            ftype, seq = raw[0] & 0x0F, int.from_bytes(raw[3:7], "big")
        except Exception:  # never let console output stop a frame
            ftype, seq = -1, -1
        print(f"TX type={ftype} seq={seq} len={len(data)}")
        n = self._uart.write(data)
        flush = getattr(self._uart, "flush", None)
        if flush is not None:
            flush()
        print(f"SENT seq={seq}")
        return n

    def flush(self) -> None:
        flush = getattr(self._uart, "flush", None)
        if flush is not None:
            flush()

    def read(self, n: int = -1):
        return self._uart.read(n) if n >= 0 else self._uart.read()

    def any(self) -> int:
        return self._uart.any()

_RP2_RETAINED = bytearray()


class HardwareBoard(Board):
    """Board implementation on ``machine``; ``name`` is "esp32" or "pico_w"."""

    def __init__(self) -> None:
        self.name = "esp32" if sys.platform == "esp32" else "pico_w"
        self._wdt: machine.WDT | None = None
        self._adcs: dict = {}
        self._woke_by_pin = False

    # -- wake / reset ---------------------------------------------------------------
    def wake_cause(self) -> int:
        if self._woke_by_pin:
            return frames.W_PIN
        rc = machine.reset_cause()
        if rc == machine.WDT_RESET:
            return frames.W_WATCHDOG
        if rc == machine.PWRON_RESET:
            return frames.W_POWER_ON
        if rc == machine.SOFT_RESET:
            return frames.W_SOFT
        wake_reason = getattr(machine, "wake_reason", None)
        if rc == machine.DEEPSLEEP_RESET and wake_reason is not None:
            return frames.W_PIN if wake_reason() == machine.PIN_WAKE else frames.W_TIMER
        return frames.W_OTHER

    # -- inputs ---------------------------------------------------------------------
    def read_digital(self, pin: int, pull: str) -> int:
        if pull == "up":
            return machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP).value()
        if pull == "down":
            return machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_DOWN).value()
        return machine.Pin(pin, machine.Pin.IN).value()

    def read_adc_mv(self, pin: int) -> int:
        adc = self._adcs.get(pin)
        if adc is None:
            adc = machine.ADC(pin) if self.name == "pico_w" else machine.ADC(machine.Pin(pin))
            if self.name == "esp32":
                adc.atten(machine.ADC.ATTN_11DB)  # full 0..3.3 V range
            self._adcs[pin] = adc
        if self.name == "esp32":
            # read_uv() is factory-calibrated on ESP32 (the rp2 port has no read_uv).
            return adc.read_uv() // 1000  # type: ignore[union-attr,unused-ignore]
        return adc.read_u16() * 3300 // 65535

    def sleep_ms(self, ms: int) -> None:
        time.sleep_ms(ms)

    def now_s(self) -> int:
        # The RTC keeps counting through deep sleep on ESP32 and light sleep on rp2.
        return int(time.time())

    # -- retained state ---------------------------------------------------------------
    def retained_read(self) -> bytes:
        if self.name == "esp32":
            return bytes(machine.RTC().memory())
        return bytes(_RP2_RETAINED)

    def retained_write(self, data: bytes) -> None:
        if self.name == "esp32":
            machine.RTC().memory(data)
        else:
            _RP2_RETAINED[:] = data

    # -- watchdog -------------------------------------------------------------------
    def wdt_start(self, timeout_ms: int) -> None:
        if self._wdt is None:
            # rp2's watchdog cannot exceed ~8.3 s; the ESP32's can.
            limit = 8300 if self.name == "pico_w" else timeout_ms
            self._wdt = machine.WDT(timeout=min(timeout_ms, limit))

    def wdt_feed(self) -> None:
        if self._wdt is not None:
            self._wdt.feed()

    # -- links ----------------------------------------------------------------------
    def open_uart(self, uart_id: int, baud: int, tx: int, rx: int):
        return ConsoleUart(machine.UART(uart_id, baudrate=baud, tx=machine.Pin(tx),
                                        rx=machine.Pin(rx)))

    def open_card_reader(self, uart_id: int, baud: int, tx: int, rx: int):
        # timeout=0: read() returns what the RX buffer holds (or None) without waiting.
        return machine.UART(uart_id, baudrate=baud, tx=machine.Pin(tx), rx=machine.Pin(rx),
                            timeout=0)

    def open_mqtt(self, cfg: dict):
        import network
        from umqtt.simple import MQTTClient  # type: ignore[import-not-found,unused-ignore]

        m = cfg["mqtt"]
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        if not wlan.isconnected():
            wlan.connect(m["ssid"], m["password"])
            deadline = time.ticks_add(time.ticks_ms(), 15000)
            while not wlan.isconnected():
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    raise OSError("wifi: no connection")
                self.wdt_feed()  # joining may take seconds; the cycle is not hung
                time.sleep_ms(100)
        client_id = f"node-{cfg['node_id']}"
        return MQTTClient(client_id, m["host"], port=m["port"], keepalive=60)

    # -- sleep ----------------------------------------------------------------------
    def deep_sleep(self, ms: int, wake_pins: list) -> None:
        print(f"SLEEP ms={ms}")
        if self.name == "esp32":
            import esp32  # type: ignore[import-not-found,unused-ignore]

            # ext1 wakes on any of several pins, but with one level for all of them; ext0
            # wakes on one pin at its own level (the card reader's line idles high).
            high = [p for p, a in wake_pins if a]
            low = [p for p, a in wake_pins if not a]
            if high:
                esp32.wake_on_ext1([machine.Pin(p, machine.Pin.IN) for p in high],
                                   esp32.WAKEUP_ANY_HIGH)
                if low:
                    esp32.wake_on_ext0(machine.Pin(low[0], machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
                    if len(low) > 1:
                        print("SLEEP: only one active-low wake pin on esp32; ignored", low[1:])
            elif low:
                esp32.wake_on_ext1([machine.Pin(p, machine.Pin.IN) for p in low],
                                   esp32.WAKEUP_ALL_LOW)
            machine.deepsleep(ms)
        self._woke_by_pin = False
        for p, active in wake_pins:
            trig = machine.Pin.IRQ_RISING if active else machine.Pin.IRQ_FALLING
            machine.Pin(p, machine.Pin.IN).irq(handler=self._pin_wake, trigger=trig)
        machine.lightsleep(ms)
        # rp2 keeps running after light sleep (the ESP32 reboots and main.py says WAKE).
        print("WAKE cause=" + cause_name(frames.W_PIN if self._woke_by_pin else frames.W_TIMER))

    def _pin_wake(self, pin) -> None:
        self._woke_by_pin = True
