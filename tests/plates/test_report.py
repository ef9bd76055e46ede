"""Vote -> event fields: privacy hash, watch-list flag, bounded evidence crop."""

from __future__ import annotations

import numpy as np

from gateway.plates.colour import PlateColour
from gateway.plates.config import PlatesConfig
from gateway.plates.evidence import evidence_jpeg
from gateway.plates.format import classify
from gateway.plates.report import PlateReporter
from gateway.plates.voting import PlateObservation, PlateVoter
from gateway.plates.watchlist import MatchKind, WatchEntry, compile_watchlist

KEY = b"k" * 32


def _vote(text: str = "皖A12345"):
    v = PlateVoter()
    for _ in range(3):
        v.add(PlateObservation(text, (0.95,) * len(text), classify(text), PlateColour.BLUE))
    return v.vote()


def test_clear_fields(tmp_path) -> None:
    f = PlateReporter(PlatesConfig()).fields(_vote())
    assert f["plate"] == "皖A12345" and "plate_hash" not in f
    assert f["plate_colour"] == "BLUE" and f["plate_type"] == "STANDARD"
    assert f["watch_match"] is False and len(f["char_conf"]) == 7


def test_hash_mode_and_watchlist_from_files(tmp_path) -> None:
    (tmp_path / "p.key").write_bytes(KEY)
    (tmp_path / "w.key").write_bytes(b"w" * 32)
    compiled = compile_watchlist([WatchEntry("皖A12345", MatchKind.FUZZY, "case", 3)], b"w" * 32)
    (tmp_path / "w.json").write_text(compiled.to_json(), encoding="utf-8")
    cfg = PlatesConfig.model_validate(
        {
            "privacy": {"mode": "hash", "key_file": str(tmp_path / "p.key")},
            "watchlist": {
                "enabled": True,
                "compiled_path": str(tmp_path / "w.json"),
                "key_file": str(tmp_path / "w.key"),
            },
            "evidence": {"send_crop": True, "max_bytes": 3000},
        }
    )
    rep = PlateReporter.from_config(cfg)
    crop = np.random.default_rng(0).integers(0, 256, (120, 400, 3), dtype=np.uint8)
    f = rep.fields(_vote("皖A12346"), crop)
    assert "plate" not in f and isinstance(f["plate_hash"], bytes) and len(f["plate_hash"]) == 16
    assert f["watch_match"] is True  # fuzzy: one substitution away
    assert [m.label for m in rep.matches(_vote("皖A12346"))] == ["case"]
    assert len(f["crop"]) <= 3000 and f["crop"][:2] == b"\xff\xd8"
    assert "皖A12346" not in repr(rep) and "kkkk" not in repr(rep)


def test_evidence_jpeg_bounds() -> None:
    assert evidence_jpeg(np.zeros((0, 0, 3), np.uint8)) is None
    big = np.random.default_rng(1).integers(0, 256, (600, 1600, 3), dtype=np.uint8)
    jpg = evidence_jpeg(big, max_bytes=2000, max_width=240)
    assert jpg is not None and len(jpg) <= 2000
