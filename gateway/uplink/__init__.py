"""Durable delivery: the on-disk spool and the MQTT 5 publisher that drains it."""

from gateway.uplink.publisher import Uplink, UplinkStats
from gateway.uplink.spool import Draft, Spool, SpoolEntry, SpoolError, SpoolStats

__all__ = ["Draft", "Spool", "SpoolEntry", "SpoolError", "SpoolStats", "Uplink", "UplinkStats"]
