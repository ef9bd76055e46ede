"""``[demo]``: a synthetic event source so a fresh install shows events end to end."""

from pydantic import Field

from gateway.strict import StrictModel


class DemoConfig(StrictModel):
    """Emits sample vehicle-passage events with made-up plates; off unless enabled."""

    # Off by default: a site config written by hand without a [demo] section must never mix
    # fake passages into real ones. `edgepost demo --synthetic` turns it on explicitly.
    enabled: bool = Field(default=False, description="Produce synthetic vehicle-passage "
                          "events (made-up plates); for demos and load tests only.")
    interval_s: float = Field(default=2.0, ge=0.0005, le=3600, description="Seconds between events.")
    count: int = Field(default=0, ge=0, description="Stop after this many events (0 = no limit).")
