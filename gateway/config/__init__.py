"""Typed, strict TOML configuration of the gateway (one pydantic model per section).

``load_config(path)`` returns a frozen :class:`GatewayConfig` or raises :class:`ConfigError`
with one line per problem; ``load_service_config(path)`` is what ``gateway run`` uses: the same,
but a damaged zones overlay is left out (and reported) rather than keeping the site down.
docs/configuration.md is generated from the models' descriptions.
"""

from gateway.config.loader import (
    ConfigError,
    config_hash,
    effective_config,
    load_config,
    load_service_config,
    parse_config,
    to_toml,
)
from gateway.config.root import GatewayConfig

__all__ = ["ConfigError", "GatewayConfig", "config_hash", "effective_config", "load_config",
           "load_service_config", "parse_config", "to_toml"]
