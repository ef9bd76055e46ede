"""The rig description model: shipped rigs validate, mistakes are refused with the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil_tests.rig.model import RigFileError, load_rig

RIGS = Path(__file__).resolve().parent / "rigs"


@pytest.mark.parametrize("name", ["simulated.toml", "example-real.toml"])
def test_shipped_rigs_validate(name: str) -> None:
    spec = load_rig(RIGS / name)
    assert spec.simulated == (name == "simulated.toml")


def test_unknown_key_and_wrong_resource_are_refused(tmp_path: Path) -> None:
    text = (RIGS / "simulated.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("health_interval_s", "health_intervall_s"))
    with pytest.raises(RigFileError, match=r"gateway\.process\.health_intervall_s"):
        load_rig(bad)
    bad.write_text(text.replace('power = { kind = "simulated" }',
                                'power = { kind = "usb-relay", relay = "R_1" }'))
    with pytest.raises(RigFileError, match="simulated node needs"):
        load_rig(bad)
    with pytest.raises(RigFileError, match="No such file"):
        load_rig(tmp_path / "missing.toml")
