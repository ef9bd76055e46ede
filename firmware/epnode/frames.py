"""Node-link frames: build and parse (format in docs/protocol.md, part 2).

Raw frame, big-endian::

    hdr(1)=version<<4|type  node_id(2)  seq(4)  payload(n)  tag(8)  crc16(2)

tag = HMAC-SHA256(key, hdr..payload)[:8]; crc = CRC-16/CCITT-FALSE over hdr..tag.
On the wire: 0x00 + COBS(raw) + 0x00.
"""

import struct

from epnode import cobs
from epnode.crc16 import crc16

VERSION = 1
T_READINGS = 1
T_ALARM = 2
T_STATUS = 3
T_CHECKIN = 4

HEADER_LEN = 7
TAG_LEN = 8
CRC_LEN = 2
MAX_READINGS = 12
MAX_ALARMS = 4
# Longest card id on the link: a 10-byte NFC UID (ISO 14443 triple size) keeps a CHECKIN
# frame at 31 bytes on the wire, inside the 32-byte single-alarm budget.
MAX_CARD_ID = 10

# STATUS flags
F_CONFIG_FALLBACK = 0x01
F_SEQ_FROM_FLASH = 0x02
F_LAST_CYCLE_FAILED = 0x04
F_PERIODIC = 0x08  # a periodic STATUS of a running node: the wake cause is the last boot's

# CHECKIN card kinds
CARD_EM4100 = 1  # 125 kHz EM4100-style tag: 5 bytes (version/customer + 32-bit id)
CARD_NFC_UID = 2  # ISO 14443 UID: 4, 7 or 10 bytes

# STATUS wake/reset causes
W_POWER_ON = 1
W_TIMER = 2
W_PIN = 3
W_WATCHDOG = 4
W_SOFT = 5
W_OTHER = 6


def _i16(v: int) -> int:
    # Clamp rather than wrap: a saturated reading is still meaningful, a wrapped one lies.
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return v


def readings_payload(readings: list) -> bytes:
    """Payload of a READINGS frame from a list of (quantity_code, raw_int) pairs."""
    if not 1 <= len(readings) <= MAX_READINGS:
        raise ValueError(f"readings: need 1..{MAX_READINGS} entries")
    out = bytearray([len(readings)])
    for q, v in readings:
        out.extend(struct.pack(">Bh", q, _i16(v)))
    return bytes(out)


def alarm_payload(alarms: list) -> bytes:
    """Payload of an ALARM frame from a list of (kind, state 0/1, raw_value) triples."""
    if not 1 <= len(alarms) <= MAX_ALARMS:
        raise ValueError(f"alarms: need 1..{MAX_ALARMS} entries")
    out = bytearray([len(alarms)])
    for kind, state, v in alarms:
        out.extend(struct.pack(">BBh", kind, 1 if state else 0, _i16(v)))
    return bytes(out)


def status_payload(wake: int, flags: int, fw: tuple, interval_s: int = -1) -> bytes:
    """Payload of a STATUS frame: wake cause, flags, firmware major/minor and, from
    firmware 1.1 on, the report interval the node runs with (the gateway's liveness check
    judges silence against it). ``interval_s`` < 0 gives the 4-byte 1.0 form."""
    if interval_s < 0:
        return struct.pack(">BBBB", wake, flags, fw[0], fw[1])
    return struct.pack(">BBBBI", wake, flags, fw[0], fw[1], interval_s)


def checkin_payload(kind: int, card_id: bytes) -> bytes:
    """Payload of a CHECKIN frame: card kind, then the raw card id (1..MAX_CARD_ID bytes).

    The raw id travels (authenticated, not encrypted): a hash made on the node would not
    fit the frame, and the gateway hashes it with the site key before it leaves the site.
    """
    if not 1 <= len(card_id) <= MAX_CARD_ID:
        raise ValueError(f"card id: need 1..{MAX_CARD_ID} bytes")
    return bytes([kind]) + bytes(card_id)


def build_raw(ftype: int, node_id: int, seq: int, payload: bytes, tagkey) -> bytes:
    """Return the raw (unstuffed) frame: header, payload, tag, CRC."""
    if not 1 <= node_id <= 0xFFFE:
        raise ValueError("node_id out of range")
    body = struct.pack(">BHI", (VERSION << 4) | ftype, node_id, seq & 0xFFFFFFFF) + payload
    body = body + tagkey.tag(body, TAG_LEN)
    return body + struct.pack(">H", crc16(body))


def build(ftype: int, node_id: int, seq: int, payload: bytes, tagkey) -> bytes:
    """Return the frame as sent on the wire: 0x00, COBS(raw), 0x00."""
    return b"\x00" + cobs.encode(build_raw(ftype, node_id, seq, payload, tagkey)) + b"\x00"


def parse_raw(raw: bytes, key_for) -> tuple:
    """Check and split a raw frame. ``key_for(node_id)`` returns a TagKey or None.

    Returns (type, node_id, seq, payload); raises ValueError("reason: ...") otherwise.
    """
    if len(raw) < HEADER_LEN + TAG_LEN + CRC_LEN + 1:
        raise ValueError(f"short: {len(raw)} bytes")
    body_tag = raw[:-CRC_LEN]
    if crc16(body_tag) != struct.unpack(">H", raw[-CRC_LEN:])[0]:
        raise ValueError("crc: mismatch")
    hdr, node_id, seq = struct.unpack(">BHI", raw[:HEADER_LEN])
    if hdr >> 4 != VERSION:
        raise ValueError(f"version: {hdr >> 4}")
    key = key_for(node_id)
    if key is None:
        raise ValueError(f"unknown_node: {node_id}")
    body = body_tag[:-TAG_LEN]
    if key.tag(body, TAG_LEN) != body_tag[-TAG_LEN:]:
        raise ValueError("tag: mismatch")
    return hdr & 0x0F, node_id, seq, body[HEADER_LEN:]


def parse_payload(ftype: int, payload: bytes) -> list:
    """Decode a payload into a list of tuples (see the *_payload builders)."""
    if ftype == T_STATUS:
        if len(payload) == 4:
            return [struct.unpack(">BBBB", payload)]
        if len(payload) == 8:
            return [struct.unpack(">BBBBI", payload)]
        raise ValueError(f"payload: status length {len(payload)}")
    if ftype == T_CHECKIN:
        if not 2 <= len(payload) <= 1 + MAX_CARD_ID:
            raise ValueError(f"payload: checkin length {len(payload)}")
        return [(payload[0], bytes(payload[1:]))]
    if ftype == T_READINGS:
        size, fmt, limit = 3, ">Bh", MAX_READINGS
    elif ftype == T_ALARM:
        size, fmt, limit = 4, ">BBh", MAX_ALARMS
    else:
        raise ValueError(f"type: {ftype}")
    if not payload or not 1 <= payload[0] <= limit or len(payload) != 1 + payload[0] * size:
        raise ValueError("payload: bad count/length")
    return [struct.unpack(fmt, payload[1 + i * size : 1 + (i + 1) * size]) for i in range(payload[0])]
