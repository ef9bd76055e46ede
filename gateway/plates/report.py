"""Turn a track's :class:`PlateVote` into the plate fields of a ``vehicle_passage`` event.

Applies the privacy option (clear text or keyed hash) and the watch list (flag), and
optionally attaches a bounded JPEG crop. :meth:`PlateReporter.fields` returns a dict whose
keys are the plate fields of ``gateway.events.bodies.VehiclePassage`` (``plate`` or
``plate_hash``, ``plate_conf``, ``char_conf``, ``plate_colour``, ``plate_type``,
``watch_match``, ``crop``); the two enum fields are given as the **member names** of the
event enums (``"BLUE"``, ``"NEW_ENERGY"``, ...) so this package stays independent of the
events package: ``VehiclePassage(plate_colour=PlateColour[f["plate_colour"]], ...)``.

:meth:`PlateReporter.unread_fields` builds the fields of a passage with no read: only
``plate_status`` (``"UNREADABLE"`` or ``"ABSENT"``, member names of the event enum
``PlateStatus``) and the optional crop. A read passage carries no ``plate_status``: its
``plate`` or ``plate_hash`` says it was read, and leaving the v2 field out keeps it a schema-v1
event, byte for byte as before, for subscribers that only read v1 (docs/protocol.md §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.plates.colour import PlateColour
from gateway.plates.config import PlatesConfig
from gateway.plates.format import PlateType
from gateway.plates.privacy import plate_digest
from gateway.plates.voting import PlateVote
from gateway.plates.watchlist import WatchList, WatchMatch

if TYPE_CHECKING:
    import numpy as np

#: plate colour -> member name of the event enum ``PlateColour``
EVENT_COLOUR: dict[PlateColour, str] = {
    PlateColour.BLUE: "BLUE",
    PlateColour.YELLOW: "YELLOW",
    PlateColour.GREEN: "GREEN",
    PlateColour.YELLOW_GREEN: "GREEN",  # large new-energy plates: yellow-green
    PlateColour.WHITE: "WHITE",
    PlateColour.BLACK: "BLACK",
    PlateColour.UNKNOWN: "UNKNOWN",
}
#: plate type -> member name of the event enum ``PlateType``
EVENT_TYPE: dict[PlateType | None, str] = {
    PlateType.STANDARD: "STANDARD",
    PlateType.NEW_ENERGY_SMALL: "NEW_ENERGY",
    PlateType.NEW_ENERGY_LARGE: "NEW_ENERGY",
    PlateType.POLICE: "POLICE",
    PlateType.COACH: "LEARNER",
    PlateType.TRAILER: "TRAILER",
    PlateType.HONG_KONG: "HK_MACAO",
    PlateType.MACAU: "HK_MACAO",
    PlateType.CONSULATE: "EMBASSY",
    PlateType.EMBASSY: "EMBASSY",
    None: "UNKNOWN",
}

#: plate statuses of a passage with no read (member names of the event enum ``PlateStatus``)
UNREAD_STATUSES = ("UNREADABLE", "ABSENT")


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
        """Load keys and the compiled watch list named in ``config`` (raises on missing files)."""
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

    def matches(self, vote: PlateVote) -> list[WatchMatch]:
        """Watch-list entries the voted plate matches (labels, priority, distance)."""
        return self.watchlist.match(vote.text) if self.watchlist else []

    def fields(self, vote: PlateVote, crop_bgr: np.ndarray | None = None) -> dict:
        """``VehiclePassage`` plate fields for ``vote`` (see the module doc for the names)."""
        out: dict = {
            "plate_conf": round(vote.confidence, 3),
            "char_conf": tuple(round(c, 3) for c in vote.char_conf),
            "plate_colour": EVENT_COLOUR[vote.colour],
            "plate_type": EVENT_TYPE.get(vote.plate_type, "UNKNOWN"),
            "watch_match": bool(self.matches(vote)),
        }
        if self.config.privacy.mode == "hash":
            if self.privacy_key is None:
                raise ValueError("privacy mode 'hash' without a key")
            out["plate_hash"] = plate_digest(vote.text, self.privacy_key, self.config.privacy.hash_bytes)
        else:
            out["plate"] = vote.text
        self._attach_crop(out, crop_bgr)
        return out

    def unread_fields(self, status: str, crop_bgr: np.ndarray | None = None) -> dict:
        """Fields of a passage whose plate was not read: ``status`` is ``"UNREADABLE"`` (a plate
        was found; ``crop_bgr`` is the best plate candidate) or ``"ABSENT"`` (none on a vehicle
        seen large enough; ``crop_bgr`` is the vehicle). The crop obeys the evidence settings."""
        if status not in UNREAD_STATUSES:
            raise ValueError(f"plate status {status!r} is not one of {UNREAD_STATUSES}")
        out: dict = {"plate_status": status}
        self._attach_crop(out, crop_bgr)
        return out

    def _attach_crop(self, out: dict, crop_bgr: np.ndarray | None) -> None:
        if self.config.evidence.send_crop and crop_bgr is not None:
            from gateway.plates.evidence import evidence_jpeg

            jpg = evidence_jpeg(crop_bgr, self.config.evidence.max_bytes, self.config.evidence.max_width)
            if jpg is not None:
                out["crop"] = jpg
