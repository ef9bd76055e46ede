"""The board interface: everything the pure logic needs from hardware.

``board/hw.py`` implements it with ``machine``/``network`` on ESP32 and Pico W; the tests
implement it on the MicroPython VM. Methods raise NotImplementedError here so a missing
one fails loudly instead of silently doing nothing.
"""


class Board:
    """Base class of board implementations. ``name`` selects the pin map."""

    name = "none"
    # Directory on the node's flash for node.json, seq.bin and the pin maps.
    flash_dir = "/"
    # Directory holding the pin maps (board/pins/<name>.json on the flash).
    pins_dir = "/board/pins/"

    def wake_cause(self) -> int:
        """Why this cycle started: one of epnode.frames.W_*."""
        raise NotImplementedError

    def read_digital(self, pin: int, pull: str) -> int:
        """Level (0/1) of a digital input; ``pull`` is "up", "down" or "none"."""
        raise NotImplementedError

    def read_adc_mv(self, pin: int) -> int:
        """Voltage on an analog input, in millivolts."""
        raise NotImplementedError

    def sleep_ms(self, ms: int) -> None:
        """Short blocking pause (debounce sampling)."""
        raise NotImplementedError

    def now_s(self) -> int:
        """Seconds from a clock that keeps running through deep sleep (the RTC)."""
        raise NotImplementedError

    def retained_read(self) -> bytes:
        """Bytes kept across deep sleep (RTC memory); lost on power loss."""
        raise NotImplementedError

    def retained_write(self, data: bytes) -> None:
        """Store bytes for the next wake (at most 256)."""
        raise NotImplementedError

    def wdt_start(self, timeout_ms: int) -> None:
        """Start the hardware watchdog."""
        raise NotImplementedError

    def wdt_feed(self) -> None:
        """Feed the watchdog (called only after a healthy cycle)."""
        raise NotImplementedError

    def open_uart(self, uart_id: int, baud: int, tx: int, rx: int):  # -> object with write()
        """Return an object with ``write(bytes) -> int`` (and optionally ``flush()``)."""
        raise NotImplementedError

    def open_card_reader(self, uart_id: int, baud: int, tx: int, rx: int):  # -> has read()
        """Return the card reader's UART: ``read() -> bytes or None`` without blocking."""
        raise NotImplementedError

    def open_mqtt(self, cfg: dict):  # -> object with connect/publish/disconnect
        """Join WiFi and return an unconnected umqtt-like client for ``cfg['mqtt']``."""
        raise NotImplementedError

    def deep_sleep(self, ms: int, wake_pins: list) -> None:
        """Sleep ``ms`` or until a wake pin goes active; on hardware this does not return."""
        raise NotImplementedError
