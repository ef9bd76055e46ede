"""The fixed split of the development crops: the validation side never moves, and crops that show
no plate are on neither side (models/plates/split.py)."""

from __future__ import annotations

from models.plates import split as dsplit
from tests.plates.conftest import DEV_CROPS


def test_no_plate_crops_are_left_out_and_validation_is_unchanged() -> None:
    listed = {f for f, _ in dsplit.read_labels(DEV_CROPS)}
    assert set(dsplit.NOT_PLATES) <= listed, "each exclusion names a crop that is there"
    train, val = dsplit.split(DEV_CROPS)
    assert not {f for f, _ in train + val} & set(dsplit.NOT_PLATES)
    assert len(val) == 121 and all(dsplit.is_validation(f) for f, _ in val)
    assert len(train) + len(val) + len(dsplit.NOT_PLATES) == len(listed)
