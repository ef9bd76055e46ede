"""The MQTT topic tree of one device: ``<prefix>/<device>/<kind>[/<name>]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.events.types import EventType

DEFAULT_PREFIX = "edgepost/v1"
DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_device_id(device: str) -> str:
    """Return ``device`` if it is a valid id (lower-case letters, digits, '-' and '_')."""
    if not DEVICE_ID_RE.match(device):
        raise ValueError(
            f"device id {device!r} is invalid: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit")
    return device


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names for one device under a prefix (the broker ACL grants ``<prefix>/<device>/#``)."""

    device: str
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        check_device_id(self.device)

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device}"

    def event(self, event_type: EventType) -> str:
        """Where events of this type are published."""
        return f"{self.base}/event/{event_type.label}"

    @property
    def state(self) -> str:
        """Retained birth/LWT state."""
        return f"{self.base}/state"

    @property
    def health(self) -> str:
        """Periodic health reports."""
        return f"{self.base}/health"

    def cmd(self, name: str) -> str:
        """Where a subscriber sends command ``name`` to this device."""
        if not NAME_RE.match(name):
            raise ValueError(f"command name {name!r} is invalid")
        return f"{self.base}/cmd/{name}"

    @property
    def cmd_filter(self) -> str:
        """Subscription filter for all commands to this device."""
        return f"{self.base}/cmd/+"

    def reply(self, name: str) -> str:
        """Where this device answers command ``name`` (correlation data identifies the request)."""
        return f"{self.base}/reply/{name}"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A topic split into its parts; ``name`` is the event type or command name, if any."""

    device: str
    kind: str
    name: str | None


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> ParsedTopic | None:
    """Split a topic of the edgepost tree, or return ``None`` for a foreign topic."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) == 2:
        return ParsedTopic(parts[0], parts[1], None)
    if len(parts) == 3:
        return ParsedTopic(parts[0], parts[1], parts[2])
    return None


def subscription(prefix: str = DEFAULT_PREFIX, device: str = "+", kind: str = "event",
                 name: str = "#") -> str:
    """A subscription filter, e.g. all events of all devices: ``edgepost/v1/+/event/#``."""
    tail = "" if kind in ("state", "health") else f"/{name}"
    return f"{prefix}/{device}/{kind}{tail}"
