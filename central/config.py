"""Typed, strict configuration of ``edgepost central`` (TOML file + command-line overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.events import EventType
from gateway.textfile import read_toml


class StrictModel(BaseModel):
    """A configuration section: unknown keys are errors and values can't change after loading.

    The same rules as the gateway's own base (``gateway/strict.py``); kept here so the centre
    depends only on the protocol package of the gateway.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class BrokerConfig(StrictModel):
    """Where the broker is and how this instance joins the shared subscription group."""

    host: str = Field("127.0.0.1", description="broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="broker TCP port")
    prefix: str = Field("edgepost/v1", description="topic prefix of the edgepost tree")
    group: str = Field("central", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                       description="MQTT 5 shared-subscription group; instances in one group split events")
    client_id: str = Field("central-1", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                           description="this instance's client id: must be stable across restarts "
                                       "so its persistent session (and what it had in flight) comes back")
    session_expiry_s: int = Field(86_400, ge=60, le=7 * 86_400,
                                  description="how long the broker keeps this instance's queue while away")
    receive_maximum: int = Field(1000, ge=16, le=65_535,
                                 description="most unacknowledged events the broker sends before it waits: "
                                             "the bound on what this instance holds in memory")
    username: str | None = Field(None, description="broker user name (or the certificate's CN)")
    password: str | None = Field(None, description="broker password; prefer certificates")
    ca_file: Path | None = Field(None, description="site CA certificate (enables TLS)")
    certfile: Path | None = Field(None, description="this instance's certificate from `edgepost provision`")
    keyfile: Path | None = Field(None, description="this instance's private key")


class DatabaseConfig(StrictModel):
    """Where events are archived."""

    url: str = Field("sqlite:///central.sqlite3",
                     description="sqlite:///PATH (embedded default, one laptop) or postgresql://...")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("database url must start with sqlite:/// or postgresql://")
        return url


class IngestConfig(StrictModel):
    """How events are batched, checked and retried."""

    batch_max: int = Field(500, ge=1, le=10_000, description="most events written in one transaction")
    batch_wait_ms: int = Field(20, ge=0, le=5000,
                               description="how long a batch waits to fill before it is written")
    max_payload_bytes: int = Field(96 * 1024, ge=1024, le=1024 * 1024,
                                   description="larger payloads are quarantined as oversized, not decoded")
    retry_min_s: float = Field(0.2, gt=0, le=10, description="first wait after a database failure")
    retry_max_s: float = Field(5.0, gt=0, le=120, description="longest wait between database retries")
    future_tolerance_s: int = Field(300, ge=0, le=86_400,
                                    description="an event time further ahead of the centre's clock than "
                                                "this marks the device clock untrusted")
    min_event_year: int = Field(2020, ge=1970, le=2100,
                                description="events stamped before this year are quarantined (no clock)")
    quarantine_per_device_per_min: int = Field(
        60, ge=1, le=100_000,
        description="bad messages of one device kept in the quarantine table per minute (a burst "
                    "of as many); beyond that they are counted, not stored, so a device sending "
                    "garbage cannot fill the archive")
    max_nodes_per_device: int = Field(
        1000, ge=1, le=65_535,
        description="most sensor nodes listed per gateway in the fleet; events naming further "
                    "nodes are stored, but those nodes are not listed (counted as "
                    "nodes_not_listed), so one gateway sending ever new node names cannot make "
                    "every fleet view slow")


class WebConfig(StrictModel):
    """The district web UI and JSON API."""

    enabled: bool = Field(True, description="serve the web UI and API")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0 picks a free one)")
    secret_file: Path = Field(Path("central-secret.key"),
                              description="session signing key; created (mode 0600) if missing")
    secure_cookies: bool = Field(False, description="mark the session cookie Secure (behind HTTPS)")


class AlarmsConfig(StrictModel):
    """Alarm handling: the one-minute promise."""

    ack_within_s: int = Field(60, ge=5, le=3600,
                              description="alarms not acknowledged within this escalate")
    escalation_topic: str = Field("edgepost/central/escalation",
                                  description="MQTT topic the escalation notice is published on")
    webhook_url: str | None = Field(None, description="also POST the escalation notice here (JSON)")


class GridConfig(StrictModel):
    """The district's grid cells: events get the cell their position falls in."""

    cells_file: Path | None = Field(None, description="GeoJSON FeatureCollection of cell polygons "
                                                      "(positions as [lon, lat]); none: no cells")
    id_property: str = Field("id", min_length=1, max_length=64,
                             description="feature property holding the cell id (else the feature's id)")


class PlatesConfig(StrictModel):
    """Plate search when the site's gateways send plates as keyed hashes (privacy mode)."""

    hash_key_file: Path | None = Field(None, description="the site's plate-hash key (the gateways' "
                                                         "plates.privacy.key_file, raw bytes, >= 16): "
                                                         "lets operators search hashed plates by text")
    hash_bytes: int = Field(16, ge=8, le=32, description="bytes of the HMAC the gateways keep "
                                                         "(their plates.privacy.hash_bytes)")


EVENT_KINDS = tuple(t.label for t in EventType)  # the protocol's event types, as stored


class RetentionConfig(StrictModel):
    """How long events are kept, by age, per event kind (``edgepost central retention``)."""

    default_days: int = Field(90, ge=1, le=3650, description="events of kinds not listed below")
    days: dict[str, int] = Field(default_factory=dict,
                                 description="per event kind, e.g. {sensor_readings = 14, "
                                             "vehicle_passage = 180}")
    quarantine_days: int = Field(30, ge=1, le=3650,
                                 description="quarantined messages (bad input kept for inspection)")

    @field_validator("days")
    @classmethod
    def _known_kinds_and_sane_days(cls, days: dict[str, int]) -> dict[str, int]:
        for kind, n in days.items():
            if kind not in EVENT_KINDS:
                raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
            if not 1 <= n <= 3650:
                raise ValueError(f"retention of {kind} must be 1..3650 days, not {n}")
        return days

    def days_for(self, kind: str) -> int:
        """Retention in days of one event kind."""
        return self.days.get(kind, self.default_days)


class CentralConfig(StrictModel):
    """Everything ``edgepost central run`` needs."""

    broker: BrokerConfig = BrokerConfig()
    database: DatabaseConfig = DatabaseConfig()
    ingest: IngestConfig = IngestConfig()
    web: WebConfig = WebConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    grid: GridConfig = GridConfig()
    plates: PlatesConfig = PlatesConfig()
    retention: RetentionConfig = RetentionConfig()


class CentralConfigError(ValueError):
    """The central configuration file can't be used; the text says what to fix."""


def load_config(path: Path | None, overrides: dict[str, dict[str, Any]] | None = None) -> CentralConfig:
    """Read ``path`` (TOML; None = defaults) and apply section overrides from the command line."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = read_toml(path, CentralConfigError)
        except FileNotFoundError:
            raise CentralConfigError(f"{path}: no such configuration file") from None
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    try:
        return CentralConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CentralConfigError(f"{path or 'central config'}: {where}: {first['msg']} "
                                 f"({len(exc.errors())} problem(s) in all)") from None
