"""Event model, compact CBOR/JSON codec and topic tree of the edgepost protocol.

This package depends only on ``cbor2`` so that central subscribers can import it without
the camera and vision stack::

    from gateway.events import decode, Deduplicator
    event = decode(msg.payload)

docs/protocol.md is the specification; docs/vectors/events/ holds its test vectors.
"""

from gateway.events.bodies import (
    BODY_TYPES,
    Body,
    Checkin,
    Crowd,
    DeviceFault,
    LineCrossing,
    Loitering,
    NodeStatus,
    ObjectEvent,
    SensorAlarm,
    SensorReadings,
    VehiclePassage,
    ZoneIntrusion,
    body_priority,
)
from gateway.events.codec import Format, decode, dump_document, encode, load_document
from gateway.events.dedup import Deduplicator, Gap, SequenceTracker
from gateway.events.envelope import SCHEMA_VERSION, Event, Location, new_event_id, now_ms
from gateway.events.errors import EventDecodeError, EventValidationError
from gateway.events.senml import SenMLRecord
from gateway.events.topics import Topics, parse_topic, subscription
from gateway.events.types import (
    AlarmKind,
    AlarmState,
    BootCause,
    ClockSource,
    Direction,
    EventType,
    Phase,
    PlateColour,
    PlateStatus,
    PlateType,
    Severity,
)

__all__ = [
    "BODY_TYPES", "SCHEMA_VERSION", "AlarmKind", "AlarmState", "Body", "BootCause", "Checkin",
    "ClockSource", "Crowd", "Deduplicator",
    "DeviceFault", "Direction", "Event", "EventDecodeError", "EventType", "EventValidationError",
    "Format", "Gap", "LineCrossing", "Location", "Loitering", "NodeStatus", "ObjectEvent",
    "Phase", "PlateColour", "PlateStatus", "PlateType", "SenMLRecord", "SensorAlarm", "SensorReadings",
    "SequenceTracker", "Severity", "Topics", "VehiclePassage", "ZoneIntrusion", "body_priority",
    "decode", "dump_document", "encode", "load_document", "new_event_id", "now_ms",
    "parse_topic", "subscription",
]
