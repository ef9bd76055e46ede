"""Enumerations shared by event bodies. Wire codes are part of the protocol: never renumber."""

from __future__ import annotations

from enum import IntEnum


class WireEnum(IntEnum):
    """An enum that travels as its integer code in CBOR and as its lower-case name in JSON."""

    @property
    def label(self) -> str:
        """The JSON spelling of this member."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> WireEnum:
        """Look a member up by its JSON spelling."""
        try:
            return cls[label.upper()]
        except KeyError:
            valid = ", ".join(m.label for m in cls)
            raise ValueError(f"unknown {cls.__name__} {label!r} (valid: {valid})") from None


class EventType(WireEnum):
    """The kind of an event; also the last level of its topic."""

    VEHICLE_PASSAGE = 1
    OBJECT = 2
    LINE_CROSSING = 3
    ZONE_INTRUSION = 4
    LOITERING = 5
    CROWD = 6
    SENSOR_ALARM = 7
    SENSOR_READINGS = 8
    DEVICE_FAULT = 9
    NODE_STATUS = 10  # schema v2
    CHECKIN = 11  # schema v2


class PlateColour(WireEnum):
    """Background colour of a licence plate (mainland China conventions)."""

    UNKNOWN = 0
    BLUE = 1
    YELLOW = 2
    GREEN = 3
    WHITE = 4
    BLACK = 5


class PlateType(WireEnum):
    """Plate category, as far as the format and colour tell it."""

    UNKNOWN = 0
    STANDARD = 1
    NEW_ENERGY = 2
    POLICE = 3
    HK_MACAO = 4
    EMBASSY = 5
    DOUBLE_ROW = 6
    TRAILER = 7
    LEARNER = 8


class Direction(WireEnum):
    """Direction of travel relative to the site (configured per line)."""

    UNKNOWN = 0
    INBOUND = 1
    OUTBOUND = 2


class Phase(WireEnum):
    """Whether an object event marks the start or the end of its track."""

    ENTER = 1
    EXIT = 2


class AlarmKind(WireEnum):
    """What a sensor alarm is about."""

    OTHER = 0
    PIR = 1
    SMOKE = 2
    FLAME = 3
    WATER_LEVEL = 4
    TAMPER = 5
    LOW_BATTERY = 6
    THRESHOLD = 7
    PANIC = 8  # schema v2: a person on the spot pressed the node's panic button


class AlarmState(WireEnum):
    """An alarm is raised (active) and later cleared."""

    ACTIVE = 1
    CLEARED = 2


class Severity(WireEnum):
    """Severity of a device fault."""

    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4


class PlateStatus(WireEnum):
    """Whether a vehicle's plate was read (schema v2). A checkpoint must flag the others."""

    READ = 1
    UNREADABLE = 2  # a plate was found but no read was accepted (dirty, small, blurred)
    ABSENT = 3  # no plate-like region on a vehicle seen large enough to show one


class BootCause(WireEnum):
    """Why a node (re)started, as its board reports it (schema v2)."""

    UNKNOWN = 0
    POWER_ON = 1
    DEEP_SLEEP = 2
    WATCHDOG = 3
    SOFT_RESET = 4
    HARD_RESET = 5
    BROWNOUT = 6


class ClockSource(WireEnum):
    """Where the time stamp of an event came from (schema v2 envelope ``clk``).

    Absent means a synchronised system clock (NTP): the v1 meaning of every time stamp."""

    NTP = 1
    GPS = 2
    FREE = 3  # free-running, not synchronised: the centre should use its receive time


# Members added after schema v1: an event that uses one is encoded as v2 at least. Keyed by
# (enum, code) because IntEnum members of different enums with the same code compare equal.
MEMBER_SINCE: dict[tuple[type[WireEnum], int], int] = {
    (EventType, EventType.NODE_STATUS.value): 2, (EventType, EventType.CHECKIN.value): 2,
    (AlarmKind, AlarmKind.PANIC.value): 2,
}


def member_since(member: WireEnum) -> int:
    """The schema version that introduced ``member`` (1 for the original ones)."""
    return MEMBER_SINCE.get((type(member), member.value), 1)
