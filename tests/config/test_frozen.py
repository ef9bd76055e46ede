"""Every configuration model is a frozen StrictModel: a loaded configuration can't change.

The walk covers a full configuration (cameras with zones, lines, aliases and plates; node
links, GPS and Modbus; TLS), the asset manifest and the HIL rig files: no field of any model
can be assigned and no collection can be changed in place. Live changes go through
``revalidated``, which validates a new object and leaves the old one alone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gateway.assets.manifest import Manifest, load_manifest
from gateway.config import GatewayConfig, config_hash, effective_config, parse_config, to_toml
from gateway.strict import StrictModel, revalidated
from hil_tests.rig.model import RigSpec, load_rig
from tests.conftest import REPO


def full_raw(tmp_path: Path) -> dict[str, Any]:
    """A configuration that sets every section, every list and every table at least once."""
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    keys = tmp_path / "nodes.toml"
    keys.write_text("", encoding="utf-8")
    zone = {"name": "gate", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],
            "classes": ["person"], "intrusion": True, "loiter_s": 5.0, "crowd_threshold": 3}
    line = {"name": "lane", "a": [0.0, 0.5], "b": [1.0, 0.5], "inbound_side": [0.5, 1.0],
            "classes": ["car"]}
    camera = {
        "source": {"uri": str(tmp_path / "cam.mp4")},
        "detector": {"model": str(tmp_path / "det.tflite"), "class_thresholds": {"car": 0.6},
                     "num_threads": 2},
        "motion": {"masks": [[[0.0, 0.0], [0.2, 0.0], [0.2, 0.2]]]},
        "tracker": {"iou_threshold": 0.25},
        "rules": {"classes": ["person", "car"], "class_aliases": {"truck": "car"},
                  "require_zones": ["gate"], "zones": [zone], "lines": [line]},
        "crops": {"enabled": True},
        "plates": {"localiser": {"vehicle_input_size": 96}, "recognizer": {"num_threads": 2},
                   "voting": {"min_reads": 2}, "privacy": {"mode": "clear"},
                   "evidence": {"send_crop": True}},
    }
    register = {"name": "water_level", "address": 0, "scale": 0.001, "unit": "m",
                "high_limit": 1.5}
    return {
        "device": {"id": "gw-test", "location": {"lat": 30.1, "lon": 120.2}},
        "mqtt": {"host": "broker.local", "tls": {"ca_file": str(pem)}},
        "spool": {"path": str(tmp_path / "spool.sqlite3")},
        "health": {"interval_s": 5.0},
        "cameras": {"north": camera},
        "sensors": {
            "node_links": [{"name": "radio0", "serial": {"port": "loop://"},
                            "key_file": str(keys)}],
            "gps": {"serial": {"port": "loop://"}},
            "modbus": [{"serial": {"port": "loop://"},
                        "instruments": [{"name": "tank", "unit_id": 5,
                                         "registers": [register]}]}],
        },
    }


def walk(obj: Any, path: str = "config") -> Iterator[tuple[str, Any]]:
    """Every value in a loaded model tree, with its dotted path."""
    yield path, obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from walk(getattr(obj, name), f"{path}.{name}")
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from walk(value, f"{path}[{key!r}]")
    elif isinstance(obj, tuple | list | set):
        for i, value in enumerate(obj):
            yield from walk(value, f"{path}[{i}]")


def assert_frozen(root: BaseModel, *, collections: bool = True) -> int:
    """Try to change every field and collection; return how many models were checked."""
    models = 0
    for path, value in walk(root):
        if isinstance(value, BaseModel):
            models += 1
            assert isinstance(value, StrictModel), f"{path}: {type(value).__name__} is no StrictModel"
            for name in type(value).model_fields:
                with pytest.raises(ValidationError, match="frozen"):
                    setattr(value, name, getattr(value, name))
        elif collections and isinstance(value, list | set | dict):
            pytest.fail(f"{path}: a mutable {type(value).__name__} in a frozen configuration")
        elif collections and isinstance(value, MappingProxyType):
            with pytest.raises(TypeError):
                value["new-key"] = None  # type: ignore[index]
    return models


def test_full_config_cannot_change_after_loading(tmp_path: Path) -> None:
    cfg = parse_config(full_raw(tmp_path))
    models = assert_frozen(cfg)
    assert models >= 25  # every section of the full file was walked
    camera = cfg.cameras["north"]
    # the example of the issue: a tracker threshold changed behind the pipeline's back
    with pytest.raises(ValidationError, match="frozen"):
        camera.tracker.iou_threshold = 0.9  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.cameras["south"] = camera  # type: ignore[index]
    with pytest.raises(AttributeError):
        camera.rules.zones.append(camera.rules.zones[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        camera.detector.class_thresholds["car"] = 0.1  # type: ignore[index]
    # the frozen collections still print, hash and render like the file
    assert effective_config(cfg)["cameras"]["north"]["rules"]["class_aliases"] == {"truck": "car"}
    assert tomllib.loads(to_toml(effective_config(cfg)))["cameras"]["north"]["rules"][
        "classes"] == ["person", "car"]
    assert parse_config(effective_config(cfg)) == cfg


def model_classes(annotation: Any, seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model class reachable from ``annotation`` (unions, tuples and mappings included)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            for field in annotation.model_fields.values():
                model_classes(field.annotation, seen)
        return seen
    for arg in getattr(annotation, "__args__", ()):
        model_classes(arg, seen)
    return seen


def test_every_config_model_class_is_strict_and_frozen() -> None:
    seen: set[type[BaseModel]] = set()
    for root in (GatewayConfig, Manifest, RigSpec):
        model_classes(root, seen)
    assert len(seen) >= 55  # 28 camera/sensor/plate/asset models among them
    for model in seen:
        assert issubclass(model, StrictModel), model
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"


def test_tflite_models_share_one_base() -> None:
    from gateway.inference import BundledModelConfig, TfliteModelConfig
    from gateway.plates.config import LocalizerConfig, RecognizerConfig
    from gateway.vision.config import DetectorConfig

    assert issubclass(DetectorConfig, TfliteModelConfig)
    for model in (RecognizerConfig, LocalizerConfig):
        assert issubclass(model, BundledModelConfig)
        assert model.model_fields["num_threads"] is not None
        assert "model_path" in model.model_fields


def test_manifest_and_rig_files_are_frozen() -> None:
    assert assert_frozen(load_manifest()) >= 3
    for rig_file in sorted((REPO / "hil_tests" / "rigs").glob("*.toml")):
        # rig files keep their lists (hil_tests is owned elsewhere): fields are still frozen
        assert assert_frozen(load_rig(rig_file), collections=False) >= 3, rig_file


def test_live_change_validates_a_new_object(tmp_path: Path) -> None:
    cfg = parse_config(full_raw(tmp_path))
    camera = cfg.cameras["north"]
    tracker = revalidated(camera.tracker, iou_threshold=0.4)
    changed = revalidated(cfg, cameras={"north": revalidated(camera, tracker=tracker)})
    assert changed.cameras["north"].tracker.iou_threshold == 0.4
    assert cfg.cameras["north"].tracker.iou_threshold == 0.25  # the old object is untouched
    assert config_hash(changed) != config_hash(cfg)
    assert_frozen(changed)
    # an invalid change is an error, not a half-applied configuration
    with pytest.raises(ValidationError, match="iou_threshold"):
        revalidated(camera.tracker, iou_threshold=7)
    rules = camera.rules
    with pytest.raises(ValidationError, match="require_zones names unknown zones"):
        revalidated(rules, zones=())  # the cross-field check runs again
    assert revalidated(cfg) == cfg
