"""Map the vision pipeline's results onto protocol event bodies."""

from __future__ import annotations

from gateway.events.bodies import (
    Body,
    Crowd,
    LineCrossing,
    Loitering,
    ObjectEvent,
    VehiclePassage,
    ZoneIntrusion,
)
from gateway.events.types import Direction, Phase, PlateColour, PlateType
from gateway.vision import events as ve

DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}


def to_body(ev: ve.VisionEvent) -> Body | None:
    """The event body for one vision result, or None for a kind the protocol does not carry."""
    cls = ev.label or "object"
    conf = None if ev.confidence is None else min(1.0, max(0.0, float(ev.confidence)))
    track = ev.track_id or 0
    if isinstance(ev, ve.ObjectEnter):
        return ObjectEvent(phase=Phase.ENTER, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                           zone=ev.zones[0] if ev.zones else None, crop=ev.crop_jpeg)
    if isinstance(ev, ve.ObjectExit):
        return ObjectEvent(phase=Phase.EXIT, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                           zone=ev.zones[0] if ev.zones else None,
                           direction=DIRECTIONS.get(ev.direction or ""),
                           dwell_ms=round(ev.dwell_s * 1000))
    if isinstance(ev, ve.LineCrossing):
        return LineCrossing(line=ev.line, direction=DIRECTIONS.get(ev.direction, Direction.UNKNOWN),
                            cls=cls, track_id=track, conf=conf, camera=ev.camera, crop=ev.crop_jpeg)
    if isinstance(ev, ve.ZoneIntrusion):
        return ZoneIntrusion(zone=ev.zone, cls=cls, track_id=track, conf=conf, camera=ev.camera,
                             crop=ev.crop_jpeg)
    if isinstance(ev, ve.Loitering):
        return Loitering(zone=ev.zone, cls=cls, track_id=track, dwell_ms=round(ev.dwell_s * 1000),
                         camera=ev.camera, crop=ev.crop_jpeg)
    if isinstance(ev, ve.VehiclePlate):
        p = dict(ev.plate)
        p["plate_colour"] = PlateColour[str(p.get("plate_colour", "UNKNOWN"))]
        p["plate_type"] = PlateType[str(p.get("plate_type", "UNKNOWN"))]
        return VehiclePassage(**p, vehicle_class=cls, conf=conf, track_id=track, camera=ev.camera,
                              direction=DIRECTIONS.get(ev.direction or "", Direction.UNKNOWN),
                              zone=ev.zones[0] if ev.zones else None)
    if isinstance(ev, ve.CrowdCount):
        return Crowd(cls=cls, count=ev.count, threshold=ev.threshold, zone=ev.zone, camera=ev.camera)
    return None
