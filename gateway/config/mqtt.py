"""``[mqtt]``: the broker connection of the uplink."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.strict import StrictModel


class TlsConfig(StrictModel):
    """TLS to the broker. With ``certfile``/``keyfile`` the gateway authenticates by certificate."""

    ca_file: Path = Field(description="PEM file of the site CA that signed the broker certificate.")
    certfile: Path | None = Field(default=None, description="PEM client certificate (CN = device id).")
    keyfile: Path | None = Field(default=None, description="PEM private key of the client certificate.")
    insecure_skip_hostname_check: bool = Field(
        default=False, description="Skip the broker host name check (lab use only).")

    @field_validator("ca_file", "certfile", "keyfile")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        if not value.is_file():
            raise ValueError(f"file not found: {value} (provision it with `edgepost provision "
                             "gateway` or correct the path)")
        if not os.access(value, os.R_OK):
            raise ValueError(f"file not readable by this user: {value}")
        return value

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("certfile and keyfile must be given together")
        return self


class MqttConfig(StrictModel):
    """Broker address, credentials and publishing behaviour."""

    host: str = Field(default="127.0.0.1", description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 for TLS).")
    keepalive_s: int = Field(default=30, ge=5, le=3600,
                             description="MQTT keep-alive; the LWT fires ~1.5x this after a loss.")
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120,
                                     description="Timeout of one TCP/TLS connect attempt.")
    username: str | None = Field(default=None, description="Username, if the broker wants one.")
    password: SecretStr | None = Field(
        default=None, description="Password; never logged. Keep this file owner-readable only.")
    tls: TlsConfig | None = Field(default=None, description="TLS settings; omit for plain TCP.")
    allow_plaintext_password: bool = Field(
        default=False,
        description="Send the password without TLS to a broker that is not on this machine "
        "(anyone on the network path can read it). Refused unless set; a warning is logged "
        "at every start when it is.")
    topic_prefix: str = Field(default="edgepost/v1",
                              description="Topic prefix; the device id is the next level.")
    format: Literal["cbor", "json"] = Field(
        default="cbor", description="Payload format of events, state and health.")
    window: int = Field(
        default=128, ge=1, le=1024,
        description="QoS 1 events in flight before waiting for PUBACKs. Throughput is at most "
        "window / round-trip time: 128 sends ~2,500 events/s over a 50 ms link (32 gave only "
        "~600). A larger window also means more events the spool keeps beyond its bounds "
        "while they are on the wire, more events resent after a lost connection, and more "
        "events in flight when the broker refuses one (all kept and resent). On a LAN 32 is "
        "plenty; raise it for long satellite or cellular round trips.")
    reconnect_min_s: float = Field(default=0.5, gt=0, le=60,
                                   description="First reconnect delay; doubles per failure.")
    reconnect_max_s: float = Field(default=60.0, gt=0, le=3600,
                                   description="Upper bound of the reconnect delay (with jitter).")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or value.startswith("/") or value.endswith("/") or any(c in value for c in "+#"):
            raise ValueError("topic_prefix must be non-empty, without leading/trailing '/', + or #")
        return value

    @model_validator(mode="after")
    def _backoff(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self

    @property
    def password_in_clear(self) -> bool:
        """A password would cross the network unencrypted (no TLS, broker not loopback)."""
        return self.password is not None and self.tls is None and not is_loopback(self.host)

    @model_validator(mode="after")
    def _no_plaintext_password_over_the_network(self) -> MqttConfig:
        if self.password_in_clear and not self.allow_plaintext_password:
            raise ValueError(
                f"the password would be sent in clear text to {self.host}: add an [mqtt.tls] "
                "section (ca_file = the site CA; port 8883), or, only if the network is "
                "trusted, set allow_plaintext_password = true in [mqtt]")
        return self


def is_loopback(host: str) -> bool:
    """True for this machine's own addresses (traffic that never leaves the host)."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
            ".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
