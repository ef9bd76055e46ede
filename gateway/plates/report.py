"""Turn a track's :class:`PlateVote` into the plate fields of a vehicle event.

Applies the privacy option (clear text or keyed hash) and the watch list (flag + priority),
and optionally attaches a bounded JPEG crop. The result is a plain dict of JSON/CBOR-safe
values for the event model; it holds no plate text when privacy mode is ``hash``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gateway.plates.config import PlatesConfig
from gateway.plates.evidence import evidence_jpeg
from gateway.plates.privacy import plate_hash
from gateway.plates.voting import PlateVote
from gateway.plates.watchlist import WatchList, WatchMatch


def read_key(path: Path) -> bytes:
    """Read a key file (raw bytes, surrounding whitespace stripped); at least 16 bytes."""
    key = Path(path).read_bytes().strip()
    if len(key) < 16:
        raise ValueError(f"key file {path} holds fewer than 16 bytes")
    return key


@dataclass
class PlateReporter:
    """Builds the plate part of vehicle events for one camera (holds the keys, never logs them)."""

    config: PlatesConfig
    watchlist: WatchList | None = None
    privacy_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: PlatesConfig) -> PlateReporter:
        """Load keys and the compiled watch list named in ``config``."""
        wl = None
        if config.watchlist.enabled:
            if not config.watchlist.compiled_path or not config.watchlist.key_file:
                raise ValueError("watchlist.enabled needs compiled_path and key_file")
            wl = WatchList.load(config.watchlist.compiled_path, read_key(config.watchlist.key_file))
        pk = None
        if config.privacy.mode == "hash":
            if not config.privacy.key_file:
                raise ValueError("privacy.mode = 'hash' needs privacy.key_file")
            pk = read_key(config.privacy.key_file)
        return cls(config, wl, pk)

    def fields(self, vote: PlateVote, crop_bgr: np.ndarray | None = None) -> dict:
        """Event fields: plate or plate_hash, confidences, colour, type, watch-list flag, priority."""
        out: dict = {
            "plate_confidence": round(vote.confidence, 3),
            "plate_char_conf": [round(c, 3) for c in vote.char_conf],
            "plate_colour": str(vote.colour),
            "plate_type": str(vote.plate_type) if vote.plate_type else None,
            "plate_reads": vote.n_reads,
            "plate_agree": vote.n_agree,
        }
        if self.config.privacy.mode == "hash":
            assert self.privacy_key is not None
            out["plate_hash"] = plate_hash(vote.text, self.privacy_key, self.config.privacy.hash_bytes)
        else:
            out["plate"] = vote.text
        matches: list[WatchMatch] = self.watchlist.match(vote.text) if self.watchlist else []
        out["watchlist"] = bool(matches)
        out["priority"] = 0
        if matches:
            out["watchlist_labels"] = [m.label for m in matches]
            out["watchlist_fuzzy"] = any(m.distance > 0 for m in matches)
            out["priority"] = max(self.config.watchlist.match_priority, max(m.priority for m in matches))
        if self.config.evidence.send_crop and crop_bgr is not None:
            jpg = evidence_jpeg(crop_bgr, self.config.evidence.max_bytes, self.config.evidence.max_width)
            if jpg is not None:
                out["plate_jpeg"] = jpg
        return out
