"""An operator's MQTT client for the tests: sends ``cmd/<name>`` and waits for the reply.

It talks to the real test broker like the centre would (MQTT 5, correlation data), so the
command path under test is the gateway's real one: uplink subscription, router, reply topic.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.events import Format, dump_document, load_document


class Operator:
    """Sends commands to one gateway and returns the decoded replies."""

    def __init__(self, port: int, device: str = "gw-demo", prefix: str = "edgepost/v1") -> None:
        self.base = f"{prefix}/{device}"
        self._replies: dict[bytes, Any] = {}
        self._sizes: list[int] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{self.base}/reply/#", qos=1)
        self.client.loop_start()
        assert subscribed.wait(10), "operator could not subscribe to the replies"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        corr = getattr(msg.properties, "CorrelationData", None)
        with self._cond:
            self._sizes.append(len(msg.payload))
            self._replies[corr] = load_document(msg.payload, Format.CBOR)
            self._cond.notify_all()

    @property
    def largest_reply(self) -> int:
        """Size in bytes of the largest reply payload seen."""
        with self._cond:
            return max(self._sizes, default=0)

    def command(self, name: str, args: dict[str, Any] | None = None,
                timeout: float = 10.0) -> dict[str, Any]:
        """Send ``cmd/<name>`` with ``args`` (CBOR) and return the reply document."""
        props = Properties(PacketTypes.PUBLISH)
        corr = uuid.uuid4().bytes
        props.CorrelationData = corr
        payload = dump_document(args, Format.CBOR) if args else b""
        self.client.publish(f"{self.base}/cmd/{name}", payload, qos=1, properties=props)
        deadline = time.monotonic() + timeout
        with self._cond:
            while corr not in self._replies:
                left = deadline - time.monotonic()
                assert left > 0, f"no reply to cmd/{name} within {timeout} s"
                self._cond.wait(left)
            return self._replies.pop(corr)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_commands_ready(service: Any, timeout: float = 10.0) -> None:
    """Commands are not queued for a gateway (clean session): wait for its subscription."""
    deadline = time.monotonic() + timeout
    while not service.uplink.stats.commands_ready:
        assert time.monotonic() < deadline, "the gateway never subscribed to its commands"
        time.sleep(0.05)
