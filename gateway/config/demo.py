"""``[demo]``: a synthetic event source so a fresh install shows events end to end."""

from pydantic import Field

from gateway.config.base import StrictModel


class DemoConfig(StrictModel):
    """Emits sample vehicle-passage events; off in production configurations."""

    enabled: bool = Field(default=True, description="Produce demo events.")
    interval_s: float = Field(default=2.0, ge=0.0005, le=3600, description="Seconds between events.")
    count: int = Field(default=0, ge=0, description="Stop after this many events (0 = no limit).")
