"""Transports: how a finished frame leaves the node. One interface, two links.

``send(frame) -> bool`` never raises: a failed send makes the cycle unhealthy (so the
watchdog is not fed and the alarm is retried next wake), but must not crash the node.
"""


class UartTransport:
    """Frames to a radio modem or a wired serial link (the low-power default)."""

    def __init__(self, uart) -> None:
        self.uart = uart
        self.errors = 0

    def send(self, frame: bytes) -> bool:
        """Write the whole frame; flush so it is on the wire before deep sleep cuts power."""
        try:
            n = self.uart.write(frame)
            flush = getattr(self.uart, "flush", None)
            if flush is not None:
                flush()
        except Exception:
            self.errors += 1
            return False
        ok = n == len(frame)
        if not ok:
            self.errors += 1
        return ok

    def close(self) -> None:
        """Nothing to release: the UART is powered down by deep sleep."""


class MqttTransport:
    """Frames published over WiFi MQTT (umqtt.simple) for nodes within WiFi reach.

    The payload is the same COBS frame as on the UART, so the gateway runs one decoder
    for both links. ``client_factory()`` joins WiFi and returns an unconnected client.
    """

    def __init__(self, client_factory, topic: str, qos: int = 1) -> None:
        self.client_factory = client_factory
        self.topic = topic
        self.qos = qos
        self.client = None
        self.errors = 0

    def send(self, frame: bytes) -> bool:
        """Connect on first use, publish (QoS 1 waits for PUBACK); False on any failure."""
        try:
            client = self.client
            if client is None:
                client = self.client_factory()
                client.connect()
                self.client = client
            client.publish(self.topic, frame, False, self.qos)
            return True
        except Exception:
            self.errors += 1
            self.close()
            return False

    def close(self) -> None:
        """Disconnect cleanly before sleep (the broker would otherwise fire the will)."""
        c = self.client
        self.client = None
        if c is not None:
            try:  # noqa: SIM105 - MicroPython has no contextlib
                c.disconnect()
            except Exception:
                pass
