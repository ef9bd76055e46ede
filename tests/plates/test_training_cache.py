"""The training scripts' cache of cut samples (models/plates/common.py)."""

from __future__ import annotations

import numpy as np
import pytest


def test_arrays_are_built_once_and_read_back_equal(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.plates import common

    monkeypatch.setattr(common, "WORK", tmp_path / "work")
    builds: list[int] = []

    def build() -> dict[str, np.ndarray]:
        builds.append(1)
        return {"x": np.arange(12, dtype=np.uint8).reshape(3, 4), "y": np.ones(3, np.float16)}

    first = common.cached_arrays("set_3_1.npz", build)
    again = common.cached_arrays("set_3_1.npz", build)
    assert len(builds) == 1, "the second call must read the saved arrays, not cut them again"
    assert (tmp_path / "work" / "set_3_1.npz").is_file()
    assert set(again) == {"x", "y"}
    for k in first:
        assert again[k].dtype == first[k].dtype
        np.testing.assert_array_equal(again[k], first[k])
    other = common.cached_arrays("set_3_2.npz", build)  # another name: built anew
    assert len(builds) == 2 and set(other) == {"x", "y"}
