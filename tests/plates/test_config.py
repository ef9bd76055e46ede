"""Plate config models: strict, documented, sane defaults."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from gateway.plates import config as cfg


def _models() -> list[type[BaseModel]]:
    return [
        v
        for v in vars(cfg).values()
        if isinstance(v, type) and issubclass(v, BaseModel) and v is not BaseModel
    ]


def test_every_model_is_strict_and_every_field_documented() -> None:
    models = _models()
    assert len(models) >= 7
    for m in models:
        assert m.model_config.get("extra") == "forbid", m
        for name, f in m.model_fields.items():
            assert f.description, f"{m.__name__}.{name} has no description"


def test_defaults_and_unknown_keys() -> None:
    c = cfg.PlatesConfig()
    assert c.privacy.mode == "clear" and not c.watchlist.enabled
    with pytest.raises(ValidationError):
        cfg.PlatesConfig.model_validate({"recogniser": {}})
    with pytest.raises(ValidationError):
        cfg.PlatesConfig.model_validate({"privacy": {"mode": "rot13"}})
    with pytest.raises(ValidationError):
        cfg.PlatesConfig.model_validate({"localiser": {"vehicle_input_size": 150}})
    c2 = cfg.PlatesConfig.model_validate({"privacy": {"mode": "hash", "key_file": "/etc/edgepost/plate.key"}})
    assert c2.privacy.hash_bytes == 16


def test_old_localiser_key_still_read() -> None:
    """Files written before the code's American spelling keep working (both keys read)."""
    old = cfg.PlatesConfig.model_validate({"localiser": {"vehicle_input_size": 96, "refine": False}})
    new = cfg.PlatesConfig.model_validate({"localizer": {"vehicle_input_size": 96, "refine": False}})
    assert old == new
    assert old.localizer.vehicle_input_size == 96 and not old.localizer.refine
    with pytest.raises(ValidationError, match="multiple of 8"):
        cfg.PlatesConfig.model_validate({"localiser": {"vehicle_input_size": 150}})
