"""Plain results of the vision pipeline, handed to ``on_event``.

They carry what a subscriber needs to act (class, confidence, zone, direction, dwell, an
optional small JPEG crop), never frames. The gateway's event layer maps them onto the wire
protocol; nothing here depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

Box = tuple[float, float, float, float]


@dataclass(kw_only=True)
class VisionEvent:
    """Fields common to every vision event.

    ``t`` is the frame clock (seconds into the media for files, monotonic for live sources);
    ``wall`` is the UTC epoch capture time of the frame that produced the event;
    ``capture_mono`` is the ``time.monotonic()`` of that frame's capture, so consumers can
    measure capture-to-publish latency.
    """

    kind: ClassVar[str] = "vision"
    camera: str
    t: float
    wall: float
    capture_mono: float
    frame_index: int
    track_id: int | None = None
    label: str | None = None
    confidence: float | None = None
    box: Box | None = None
    crop_jpeg: bytes | None = field(default=None, repr=False)
    clip: str | None = None  # id of the evidence clip recorded around this event, if any


@dataclass(kw_only=True)
class ObjectEnter(VisionEvent):
    """A new object was confirmed (once per track)."""

    kind: ClassVar[str] = "object_enter"
    zones: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ObjectExit(VisionEvent):
    """A confirmed object was lost for good (once per track)."""

    kind: ClassVar[str] = "object_exit"
    dwell_s: float = 0.0
    first_t: float = 0.0
    zones: list[str] = field(default_factory=list)  # every zone visited
    direction: str | None = None  # last line-crossing direction, if any
    lines: list[str] = field(default_factory=list)  # lines crossed, in order


@dataclass(kw_only=True)
class LineCrossing(VisionEvent):
    """An object crossed a counting line."""

    kind: ClassVar[str] = "line_crossing"
    line: str
    direction: str  # "inbound" or "outbound"


@dataclass(kw_only=True)
class ZoneIntrusion(VisionEvent):
    """An object entered a zone marked for intrusion alerts."""

    kind: ClassVar[str] = "zone_intrusion"
    zone: str


@dataclass(kw_only=True)
class Loitering(VisionEvent):
    """An object stayed in a zone longer than its loitering limit (once per visit)."""

    kind: ClassVar[str] = "loitering"
    zone: str
    dwell_s: float


@dataclass(kw_only=True)
class CrowdCount(VisionEvent):
    """The number of objects in a zone reached its threshold (once until it drops again)."""

    kind: ClassVar[str] = "crowd"
    zone: str
    count: int
    threshold: int
    track_ids: list[int] = field(default_factory=list)


@dataclass(kw_only=True)
class VehiclePlate(VisionEvent):
    """A vehicle track ended (once per track): with a plate read voted over its frames, or
    with none, saying why.

    ``plate`` holds the plate fields of a ``vehicle_passage`` event as the plate stage built
    them: for a read, clear text or keyed hash, confidences, colour, type, watch-list flag and
    crop; for no read, ``plate_status`` (``"UNREADABLE"`` or ``"ABSENT"``) and the crop.
    """

    kind: ClassVar[str] = "vehicle_plate"
    direction: str | None = None
    zones: list[str] = field(default_factory=list)
    plate: dict[str, object] = field(default_factory=dict, repr=False)
