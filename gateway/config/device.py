"""``[device]``: who this gateway is and where it stands."""

from __future__ import annotations

from pydantic import Field, field_validator

from gateway.events.topics import check_device_id
from gateway.strict import StrictModel


class LocationConfig(StrictModel):
    """Fixed position of the gateway, used when no GPS fix is available."""

    lat: float = Field(ge=-90, le=90, description="Latitude in degrees (WGS84).")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees (WGS84).")


class DeviceConfig(StrictModel):
    """Identity of the gateway; the id is its MQTT client id and topic level."""

    id: str = Field(
        default="gw-demo",
        description="Device id: lower-case letters, digits, '-' or '_'. Must equal the CN of "
        "the device certificate when the broker uses use_identity_as_username.",
    )
    location: LocationConfig | None = Field(
        default=None, description="Fixed location attached to events when GPS has no fix."
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return check_device_id(value)
