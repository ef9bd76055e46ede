"""Map the vision pipeline's results onto protocol event bodies.

A camera tamper condition becomes a ``device_fault`` of ``camera/<name>`` (code tamper,
defocus, moved or dark) with a snapshot, and a second one with ``cleared`` and its duration
when the view is back. Alarm bodies carry the id of their evidence clip when one is made.
A vehicle whose plate was not read becomes a ``vehicle_passage`` with ``plate_status``
(unreadable or absent) and no plate fields.
"""

from __future__ import annotations

from gateway.events.bodies import (
    Body,
    Crowd,
    DeviceFault,
    LineCrossing,
    Loitering,
    ObjectEvent,
    VehiclePassage,
    ZoneIntrusion,
)
from gateway.events.fields import MAX_TEXT
from gateway.events.types import Direction, Phase, PlateColour, PlateStatus, PlateType, Severity
from gateway.vision import events as ve
from gateway.vision.tamper import CameraTamper

DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}


def to_body(ev: ve.VisionEvent) -> Body | None:
    """The event body for one vision result, or None for a kind the protocol does not carry."""
    if isinstance(ev, CameraTamper):
        return DeviceFault(component=f"camera/{ev.camera}", code=ev.code,
                           severity=Severity.INFO if ev.cleared else Severity.WARNING,
                           message=ev.message[:256], cleared=True if ev.cleared else None,
                           duration_ms=None if ev.duration_s is None
                           else round(ev.duration_s * 1000), crop=ev.crop_jpeg)
    clip = ev.clip
    # a model's labels file may hold a label longer than an event's text field (MAX_TEXT):
    # cut it, or every event of that class would fail to encode and be lost
    cls = (ev.label or "object")[:MAX_TEXT]
    conf = None if ev.confidence is None else min(1.0, max(0.0, float(ev.confidence)))
    track = ev.track_id or 0
    if isinstance(ev, ve.ObjectEnter):
        return ObjectEvent(phase=Phase.ENTER, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                           zone=ev.zones[0] if ev.zones else None, crop=ev.crop_jpeg, clip=clip)
    if isinstance(ev, ve.ObjectExit):
        return ObjectEvent(phase=Phase.EXIT, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                           zone=ev.zones[0] if ev.zones else None,
                           direction=DIRECTIONS.get(ev.direction or ""),
                           dwell_ms=round(ev.dwell_s * 1000))
    if isinstance(ev, ve.LineCrossing):
        return LineCrossing(line=ev.line, direction=DIRECTIONS.get(ev.direction, Direction.UNKNOWN),
                            cls=cls, track_id=track, conf=conf, camera=ev.camera, crop=ev.crop_jpeg,
                            clip=clip)
    if isinstance(ev, ve.ZoneIntrusion):
        return ZoneIntrusion(zone=ev.zone, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                             crop=ev.crop_jpeg, clip=clip)
    if isinstance(ev, ve.Loitering):
        return Loitering(zone=ev.zone, cls=cls, track_id=track, dwell_ms=round(ev.dwell_s * 1000),
                         camera=ev.camera, crop=ev.crop_jpeg, clip=clip)
    if isinstance(ev, ve.VehiclePlate):
        p = dict(ev.plate)
        # the plate stage names enum members; a passage with no read has no colour or type
        if "plate_status" in p:
            p["plate_status"] = PlateStatus[str(p["plate_status"])]
        else:
            p["plate_colour"] = PlateColour[str(p.get("plate_colour", "UNKNOWN"))]
            p["plate_type"] = PlateType[str(p.get("plate_type", "UNKNOWN"))]
        return VehiclePassage(**p, vehicle_class=cls, conf=conf, track_id=track, camera=ev.camera,
                              direction=DIRECTIONS.get(ev.direction or "", Direction.UNKNOWN),
                              zone=ev.zones[0] if ev.zones else None, clip=clip)
    if isinstance(ev, ve.CrowdCount):
        return Crowd(cls=cls, count=ev.count, threshold=ev.threshold, zone=ev.zone, camera=ev.camera,
                     clip=clip)
    return None
