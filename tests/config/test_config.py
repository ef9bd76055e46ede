"""Strict configuration: unknown keys, bad values and missing files give one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.config import (
    ConfigError,
    GatewayConfig,
    config_hash,
    effective_config,
    load_config,
    parse_config,
)
from gateway.config.loader import _model_of


def test_defaults_are_valid_and_produce_no_demo_events() -> None:
    cfg = load_config(None)
    assert cfg.device.id == "gw-demo" and not cfg.demo.enabled and cfg.mqtt.format == "cbor"


def test_demo_source_is_off_unless_enabled(tmp_path: Path) -> None:
    hand_written = tmp_path / "site.toml"
    hand_written.write_text('[device]\nid = "cp-north-1"\n[mqtt]\nhost = "127.0.0.1"\n')
    assert load_config(hand_written).demo.enabled is False
    section_without_switch = tmp_path / "tuned.toml"
    section_without_switch.write_text("[demo]\ninterval_s = 0.5\n")
    assert load_config(section_without_switch).demo.enabled is False
    assert parse_config({"demo": {"enabled": True}}).demo.enabled is True


def test_unknown_key_names_path_and_nearest_valid_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"mqtt": {"hots": "broker.local"}})
    assert "mqtt.hots: unknown key; did you mean 'mqtt.host'?" in str(err.value)


def test_unknown_section_is_rejected() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"spol": {}})
    assert "spol: unknown key; did you mean 'spool'?" in str(err.value)


def test_all_errors_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"mqtt": {"port": 0, "window": "many"}, "device": {"id": "Bad/Id"}})
    text = str(err.value)
    assert "3 configuration errors" in text
    assert "mqtt.port" in text and "mqtt.window" in text and "device.id" in text


def test_missing_certificate_file_is_one_clear_message(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ConfigError) as err:
        parse_config({"mqtt": {"tls": {"ca_file": str(ca), "certfile": str(tmp_path / "gw.crt"),
                                       "keyfile": str(ca)}}})
    assert f"mqtt.tls.certfile: file not found: {tmp_path / 'gw.crt'}" in str(err.value)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt\nhost = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_secrets_never_in_effective_config_or_hash() -> None:
    cfg = parse_config({"mqtt": {"username": "gw", "password": "hunter2-secret"}})
    assert "hunter2-secret" not in repr(effective_config(cfg))
    assert "hunter2-secret" not in repr(cfg)
    other = parse_config({"mqtt": {"username": "gw", "password": "another"}})
    assert config_hash(cfg) == config_hash(other)  # hash says nothing about the secret
    assert config_hash(cfg) != config_hash(parse_config({"mqtt": {"username": "gw2"}}))


def _models(model: type[BaseModel], seen: set[type]) -> set[type[BaseModel]]:
    seen.add(model)
    for field in model.model_fields.values():
        sub = _model_of(field.annotation)
        if sub is not None and sub not in seen:
            _models(sub, seen)
    return seen


def test_every_field_is_documented_and_every_model_strict() -> None:
    for model in _models(GatewayConfig, set()):
        assert model.model_config.get("extra") == "forbid", model
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_configuration_reference_is_current() -> None:
    from gateway.config.reference import render
    from tests.conftest import REPO

    assert (REPO / "docs" / "configuration.md").read_text() == render(), (
        "regenerate: python -m gateway.config.reference > docs/configuration.md")
