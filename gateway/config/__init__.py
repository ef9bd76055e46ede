"""Typed, strict TOML configuration of the gateway (one pydantic model per section).

``load_config(path)`` returns a frozen :class:`GatewayConfig` or raises :class:`ConfigError`
with one line per problem. docs/configuration.md is generated from the models' descriptions.
"""

from gateway.config.loader import (
    ConfigError,
    config_hash,
    effective_config,
    load_config,
    parse_config,
    to_toml,
)
from gateway.config.root import GatewayConfig

__all__ = ["ConfigError", "GatewayConfig", "config_hash", "effective_config", "load_config",
           "parse_config", "to_toml"]
