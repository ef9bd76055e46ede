"""``[web]``: the gateway's own status page for the technician at the roadside (off by default).

Why off and on loopback by default: a checkpoint gateway sits on networks nobody at the centre
controls. The page shows live video and can change zones, so a site turns it on deliberately
and names the interfaces it listens on; it is never reachable from a public interface unless
someone writes that address here.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from gateway.strict import StrictModel


class WebTlsConfig(StrictModel):
    """HTTPS for the page, and optionally a client certificate from the site CA on top of the login."""

    certfile: Path = Field(description="PEM certificate the page presents (e.g. the gateway's own).")
    keyfile: Path = Field(description="PEM private key of ``certfile``.")
    client_ca_file: Path | None = Field(
        default=None,
        description="When set, only browsers presenting a certificate signed by this CA (the site "
        "CA) can connect at all; the login is still asked.")


class WebConfig(StrictModel):
    """The status page, live view, zone editor and ``/metrics`` served by the gateway itself."""

    enabled: bool = Field(default=False, description="Serve the page (off: no port is opened).")
    bind: tuple[str, ...] = Field(
        default=("127.0.0.1",), min_length=1,
        description="IP addresses to listen on, e.g. ['127.0.0.1', '192.168.50.1'] for the "
        "technician's service LAN. Default: loopback only (reach it through an SSH tunnel).")
    port: int = Field(default=8080, ge=0, le=65535,
                      description="TCP port on every bound address (0: any free port, for tests).")
    users_file: Path = Field(
        default=Path("/etc/edgepost/web-users.toml"),
        description="Logins ([users.<name>] hash = argon2id, role = viewer|operator|admin), "
        "written by `edgepost provision gateway`. Changing zones needs the operator role.")
    secret_file: Path | None = Field(
        default=None,
        description="Key that signs session cookies; created (0600) if missing. None: "
        "web-secret.key beside the spool.")
    live_interval_s: float = Field(default=1.0, ge=0.1, le=60,
                                   description="How often the live view fetches a new frame.")
    recent_events: int = Field(default=50, ge=1, le=1000,
                               description="Most recent events (with crops) kept in memory for the page.")
    tls: WebTlsConfig | None = Field(default=None, description="HTTPS (None: plain HTTP).")

    @field_validator("bind")
    @classmethod
    def _bind_addresses_are_ip(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for addr in value:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise ValueError(f"{addr!r} is not an IP address: give the address of the "
                                 "interface to listen on, e.g. 192.168.50.1") from None
        if len(set(value)) != len(value):
            raise ValueError("an address is listed twice")
        return value

    @model_validator(mode="after")
    def _wildcard_bind_alone(self) -> WebConfig:
        wild = [a for a in self.bind if ipaddress.ip_address(a).is_unspecified]
        if wild and len(self.bind) > 1:
            raise ValueError(f"{wild[0]} already listens on every interface: list it alone")
        return self
