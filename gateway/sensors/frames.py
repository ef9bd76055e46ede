"""Node-link frame format: build and check frames (spec: docs/protocol.md, part 2).

Raw frame, big-endian::

    hdr(1) = version<<4 | type, node_id(2), seq(4), payload(n), tag(8), crc(2)

``tag`` = HMAC-SHA256(node key, hdr..payload) truncated to 8 bytes; ``crc`` =
CRC-16/CCITT-FALSE over hdr..tag. On the wire a frame is ``0x00 COBS(raw) 0x00``.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from enum import IntEnum
from hashlib import sha256
from typing import Protocol

from gateway.sensors.cobs import cobs_encode
from gateway.sensors.crc import crc16_ccitt

VERSION = 1
HEADER_LEN = 7
TAG_LEN = 8
CRC_LEN = 2
MIN_RAW_LEN = HEADER_LEN + 1 + TAG_LEN + CRC_LEN
MAX_READINGS = 12
MAX_ALARMS = 4
# A 10-byte NFC UID keeps a CHECKIN frame at 31 bytes on the wire (single-alarm budget 32).
MAX_CARD_ID = 10
# Longest legal frame on the wire (12 readings): 7+1+36+8+2 raw, +1 COBS, +2 delimiters.
MAX_WIRE_LEN = 57

_HDR = struct.Struct(">BHI")
_CRC = struct.Struct(">H")
_READING = struct.Struct(">Bh")
_ALARM = struct.Struct(">BBh")
_STATUS = struct.Struct(">BBBB")
_STATUS_V11 = struct.Struct(">BBBBI")  # firmware 1.1: + report interval in seconds


class FrameType(IntEnum):
    """Message type in the low nibble of the header byte."""

    READINGS = 1
    ALARM = 2
    STATUS = 3
    CHECKIN = 4


class StatusFlag(IntEnum):
    """Bits of the STATUS frame's flags byte."""

    CONFIG_FALLBACK = 0x01
    SEQ_FROM_FLASH = 0x02
    LAST_CYCLE_FAILED = 0x04
    PERIODIC = 0x08  # a running node's periodic STATUS: the wake cause is its last boot's


class CardKind(IntEnum):
    """Card technology of a CHECKIN frame (first payload byte)."""

    EM4100 = 1  # 125 kHz EM4100-style tag: 5-byte id
    NFC_UID = 2  # ISO 14443 UID: 4, 7 or 10 bytes


WAKE_CAUSES: dict[int, str] = {
    1: "power_on",
    2: "timer",
    3: "pin",
    4: "watchdog",
    5: "soft_reset",
    6: "other",
}


class FrameError(ValueError):
    """A frame was rejected; ``reason`` is a short counter key (``crc``, ``tag``, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class KeyLookup(Protocol):
    """Anything that maps a node id to its HMAC key (``None`` when unknown)."""

    def key_for(self, node_id: int) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class RawFrame:
    """A frame that passed CRC and tag checks, payload still undecoded."""

    type: int
    node_id: int
    seq: int
    payload: bytes


def _clamp16(v: int) -> int:
    return max(-32768, min(32767, v))


def readings_payload(readings: list[tuple[int, int]]) -> bytes:
    """Payload of a READINGS frame from ``(quantity_code, raw_value)`` pairs."""
    if not 1 <= len(readings) <= MAX_READINGS:
        raise ValueError(f"readings: need 1..{MAX_READINGS} entries")
    return bytes([len(readings)]) + b"".join(_READING.pack(q, _clamp16(v)) for q, v in readings)


def alarm_payload(alarms: list[tuple[int, bool, int]]) -> bytes:
    """Payload of an ALARM frame from ``(kind, raised, raw_value)`` triples."""
    if not 1 <= len(alarms) <= MAX_ALARMS:
        raise ValueError(f"alarms: need 1..{MAX_ALARMS} entries")
    return bytes([len(alarms)]) + b"".join(
        _ALARM.pack(k, 1 if s else 0, _clamp16(v)) for k, s, v in alarms
    )


def status_payload(wake: int, flags: int, fw_major: int, fw_minor: int,
                   interval_s: int | None = None) -> bytes:
    """Payload of a STATUS frame; with ``interval_s`` the 8-byte form of firmware 1.1."""
    if interval_s is None:
        return _STATUS.pack(wake, flags, fw_major, fw_minor)
    return _STATUS_V11.pack(wake, flags, fw_major, fw_minor, interval_s)


def checkin_payload(kind: int, card_id: bytes) -> bytes:
    """Payload of a CHECKIN frame: card kind, then the raw card id (1..10 bytes)."""
    if not 1 <= len(card_id) <= MAX_CARD_ID:
        raise ValueError(f"card id: need 1..{MAX_CARD_ID} bytes")
    return bytes([kind]) + card_id


def compute_tag(key: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of ``body`` under ``key``, truncated to the 8-byte node-link tag."""
    return hmac.new(key, body, sha256).digest()[:TAG_LEN]


def build_raw(ftype: int, node_id: int, seq: int, payload: bytes, key: bytes) -> bytes:
    """Return the raw (unstuffed) frame with tag and CRC."""
    if not 1 <= node_id <= 0xFFFE:
        raise ValueError("node_id must be 1..65534")
    if not 0 <= seq <= 0xFFFFFFFF:
        raise ValueError("seq must fit in 32 bits")
    body = _HDR.pack((VERSION << 4) | ftype, node_id, seq) + payload
    body += compute_tag(key, body)
    return body + _CRC.pack(crc16_ccitt(body))


def build_frame(ftype: int, node_id: int, seq: int, payload: bytes, key: bytes) -> bytes:
    """Return a frame as sent on the wire: ``0x00 COBS(raw) 0x00``."""
    return b"\x00" + cobs_encode(build_raw(ftype, node_id, seq, payload, key)) + b"\x00"


def check_raw(raw: bytes, keys: KeyLookup) -> RawFrame:
    """Check length, CRC, version and tag of a raw frame; raise :class:`FrameError`.

    The CRC is checked first because it is cheap and catches line noise; the tag is
    checked only for frames that already look intact.
    """
    if len(raw) < MIN_RAW_LEN:
        raise FrameError("short", f"{len(raw)} bytes")
    (crc,) = _CRC.unpack_from(raw, len(raw) - CRC_LEN)
    if crc16_ccitt(raw[:-CRC_LEN]) != crc:
        raise FrameError("crc")
    hdr, node_id, seq = _HDR.unpack_from(raw)
    if hdr >> 4 != VERSION:
        raise FrameError("version", str(hdr >> 4))
    key = keys.key_for(node_id)
    if key is None:
        raise FrameError("unknown_node", str(node_id))
    body_end = len(raw) - CRC_LEN - TAG_LEN
    if not hmac.compare_digest(compute_tag(key, raw[:body_end]), raw[body_end:-CRC_LEN]):
        raise FrameError("tag", f"node {node_id}")
    return RawFrame(hdr & 0x0F, node_id, seq, raw[HEADER_LEN:body_end])


def _entries(payload: bytes, size: int, limit: int) -> int:
    if not payload:
        raise FrameError("payload", "empty")
    count = payload[0]
    if not 1 <= count <= limit or len(payload) != 1 + count * size:
        raise FrameError("payload", f"count {count}, length {len(payload)}")
    return count


def parse_readings(payload: bytes) -> list[tuple[int, int]]:
    """Decode a READINGS payload into ``(quantity_code, raw_value)`` pairs."""
    count = _entries(payload, _READING.size, MAX_READINGS)
    return [_READING.unpack_from(payload, 1 + i * _READING.size) for i in range(count)]


def parse_alarms(payload: bytes) -> list[tuple[int, bool, int]]:
    """Decode an ALARM payload into ``(kind, raised, raw_value)`` triples."""
    count = _entries(payload, _ALARM.size, MAX_ALARMS)
    out = []
    for i in range(count):
        kind, state, value = _ALARM.unpack_from(payload, 1 + i * _ALARM.size)
        if state > 1:
            raise FrameError("payload", f"alarm state {state}")
        out.append((kind, bool(state), value))
    return out


def parse_status(payload: bytes) -> tuple[int, int, int, int, int | None]:
    """Decode a STATUS payload into ``(wake, flags, fw_major, fw_minor, interval_s)``;
    ``interval_s`` is None in the 4-byte form of firmware 1.0."""
    if len(payload) == _STATUS.size:
        wake, flags, major, minor = _STATUS.unpack(payload)
        return wake, flags, major, minor, None
    if len(payload) == _STATUS_V11.size:
        wake, flags, major, minor, interval = _STATUS_V11.unpack(payload)
        return wake, flags, major, minor, interval
    raise FrameError("payload", f"status length {len(payload)}")


def parse_checkin(payload: bytes) -> tuple[int, bytes]:
    """Decode a CHECKIN payload into ``(card kind, raw card id)``."""
    if not 2 <= len(payload) <= 1 + MAX_CARD_ID:
        raise FrameError("payload", f"checkin length {len(payload)}")
    return payload[0], bytes(payload[1:])
