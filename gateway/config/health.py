"""``[health]``: the periodic health report."""

from pydantic import Field

from gateway.strict import StrictModel


class HealthConfig(StrictModel):
    """How often the gateway publishes its health (fps, spool depth, drops, temperature, disk)."""

    interval_s: float = Field(default=30.0, ge=0.2, le=3600, description="Seconds between reports.")
