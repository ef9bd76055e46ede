"""Generate docs/vectors/nodelink/*.json from explicit field values.

Run ``.venv/bin/python tests/sensors/nodelink_vectors.py`` after a deliberate protocol
change; tests/sensors/test_nodelink_vectors.py fails if the files and this script disagree.
The vectors are then checked independently by the firmware (on MicroPython) and gateway.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.sensors import frames  # noqa: E402
from gateway.sensors.cobs import cobs_encode  # noqa: E402
from gateway.sensors.quantities import ALARM_CODE_BY_NAME, ALARM_KINDS, QUANTITY_BY_NAME  # noqa: E402

VECTOR_DIR = ROOT / "docs" / "vectors" / "nodelink"
KEY_A = bytes(range(32)).hex()  # node 17
KEY_B = bytes(range(0xA0, 0xC0)).hex()  # node 4242 (and the "wrong key" for node 17)


def _reading(name: str, raw: int) -> dict:
    q = QUANTITY_BY_NAME[name]
    return {"quantity": name, "code": q.code, "raw": raw, "unit": q.unit,
            "value": round(raw * q.scale, 6)}


def _alarm(kind: str, raised: bool, raw: int) -> dict:
    code = ALARM_CODE_BY_NAME[kind]
    q = next(qq for qq in QUANTITY_BY_NAME.values() if qq.code == ALARM_KINDS[code][1])
    return {"kind": kind, "code": code, "raised": raised, "raw": raw, "unit": q.unit,
            "value": round(raw * q.scale, 6)}


def _vector(name: str, desc: str, key: str, fields: dict) -> dict:
    t = fields["type"]
    if t == "readings":
        payload = frames.readings_payload([(r["code"], r["raw"]) for r in fields["readings"]])
        ftype = frames.FrameType.READINGS
    elif t == "alarm":
        payload = frames.alarm_payload([(a["code"], a["raised"], a["raw"]) for a in fields["alarms"]])
        ftype = frames.FrameType.ALARM
    elif t == "checkin":
        c = fields["checkin"]
        payload = frames.checkin_payload(c["kind_code"], bytes.fromhex(c["card_id_hex"]))
        ftype = frames.FrameType.CHECKIN
    else:
        s = fields["status"]
        payload = frames.status_payload(s["wake_code"], s["flags_byte"], *s["firmware"],
                                        s.get("interval_s"))
        ftype = frames.FrameType.STATUS
    raw = frames.build_raw(ftype, fields["node_id"], fields["seq"], payload, bytes.fromhex(key))
    wire = b"\x00" + cobs_encode(raw) + b"\x00"
    return {"name": name, "description": desc, "key": key, "fields": fields,
            "raw_hex": raw.hex(), "wire_hex": wire.hex(), "wire_len": len(wire)}


def valid_vectors() -> dict[str, list[dict]]:
    """The valid vectors, grouped by file name."""
    readings = [
        _vector("readings_typical", "Typical 4-reading report: temperature, battery, water "
                "level, humidity", KEY_A,
                {"type": "readings", "node_id": 17, "seq": 1042,
                 "readings": [_reading("temperature", 2150), _reading("battery", 3710),
                              _reading("water_level", 1234), _reading("humidity", 5520)]}),
        _vector("readings_negative_and_states", "Negative temperature, digital states",
                KEY_A,
                {"type": "readings", "node_id": 17, "seq": 1043,
                 "readings": [_reading("temperature", -1575), _reading("motion", 0),
                              _reading("smoke", 0), _reading("tamper", 1)]}),
        _vector("readings_single_node_max_seq", "Highest node id and seq", KEY_B,
                {"type": "readings", "node_id": 65534, "seq": 4294967295,
                 "readings": [_reading("battery", 2999)]}),
        _vector("readings_max_count", "12 readings, the longest legal frame", KEY_B,
                {"type": "readings", "node_id": 4242, "seq": 7,
                 "readings": [_reading("temperature", i * 100 - 32768 + 1) for i in range(12)]}),
    ]
    alarms = [
        _vector("alarm_motion_raised", "Single alarm: PIR motion raised", KEY_A,
                {"type": "alarm", "node_id": 17, "seq": 5,
                 "alarms": [_alarm("motion", True, 1)]}),
        _vector("alarm_battery_low_cleared", "Battery-low alarm cleared at 3.41 V", KEY_A,
                {"type": "alarm", "node_id": 17, "seq": 6,
                 "alarms": [_alarm("battery_low", False, 3410)]}),
        _vector("alarm_smoke_and_water", "Two alarms in one frame", KEY_B,
                {"type": "alarm", "node_id": 4242, "seq": 256,
                 "alarms": [_alarm("smoke", True, 1), _alarm("water_high", True, 1875)]}),
        _vector("alarm_panic", "Panic button pressed (firmware 1.1): sent 3 times with this "
                "seq", KEY_A,
                {"type": "alarm", "node_id": 17, "seq": 7,
                 "alarms": [_alarm("panic", True, 1)]}),
    ]
    status = [
        _vector("status_power_on", "Cold boot, config fell back to defaults, seq restored "
                "from flash", KEY_A,
                {"type": "status", "node_id": 17, "seq": 2048,
                 "status": {"wake": "power_on", "wake_code": 1,
                            "flags": ["config_fallback", "seq_from_flash"],
                            "flags_byte": 3, "firmware": [1, 0]}}),
        _vector("status_periodic_with_interval", "Firmware 1.1: periodic STATUS of a node "
                "running since a watchdog reset, report interval 900 s", KEY_A,
                {"type": "status", "node_id": 17, "seq": 3000,
                 "status": {"wake": "watchdog", "wake_code": 4, "flags": ["periodic"],
                            "flags_byte": 8, "firmware": [1, 1], "interval_s": 900}}),
        _vector("status_boot_fallback_interval", "Firmware 1.1: cold boot on a fallback "
                "config, the longest interval", KEY_B,
                {"type": "status", "node_id": 65534, "seq": 4294967295,
                 "status": {"wake": "power_on", "wake_code": 1, "flags": ["config_fallback"],
                            "flags_byte": 1, "firmware": [1, 1], "interval_s": 86400}}),
    ]
    checkin = [
        _vector("checkin_em4100", "EM4100 card 0A00123456 (reader frame: 02, ASCII "
                "'0A00123456', checksum '7A', 03)", KEY_A,
                {"type": "checkin", "node_id": 17, "seq": 8,
                 "checkin": {"kind": "em4100", "kind_code": 1, "card_id_hex": "0a00123456"}}),
        _vector("checkin_nfc_uid_10", "NFC UID of 10 bytes (the longest): 31 bytes on the "
                "wire", KEY_B,
                {"type": "checkin", "node_id": 65534, "seq": 4294967295,
                 "checkin": {"kind": "nfc_uid", "kind_code": 2,
                             "card_id_hex": "04a1b2c3d4e5f60718ff"}}),
    ]
    return {"readings.json": readings, "alarms.json": alarms, "status.json": status,
            "checkin.json": checkin}


def reject_vectors() -> list[dict]:
    """Invalid inputs with the rejection reason a receiver must report."""
    good = _vector("x", "", KEY_A, {"type": "alarm", "node_id": 17, "seq": 9,
                                     "alarms": [_alarm("tamper", True, 1)]})
    raw = bytes.fromhex(good["raw_hex"])
    bad_crc = raw[:-1] + bytes([raw[-1] ^ 0x01])
    wrong_key = frames.build_raw(2, 17, 9, frames.alarm_payload([(5, True, 1)]),
                                 bytes.fromhex(KEY_B))
    # Version 2 header but a CRC that is right, so the version check is what rejects it.
    v2 = bytearray(raw[:-2])
    v2[0] = (2 << 4) | 2
    from gateway.sensors.crc import crc16_ccitt
    v2 += crc16_ccitt(bytes(v2)).to_bytes(2, "big")
    unknown = frames.build_raw(2, 999, 1, frames.alarm_payload([(5, True, 1)]),
                               bytes.fromhex(KEY_A))
    bad_payload = frames.build_raw(1, 17, 10, bytes([2, 1, 0, 1]), bytes.fromhex(KEY_A))
    bad_type = frames.build_raw(9, 17, 11, bytes([1]), bytes.fromhex(KEY_A))
    long_card = frames.build_raw(4, 17, 12, bytes([2]) + bytes(11), bytes.fromhex(KEY_A))

    def w(b: bytes) -> str:
        return (b"\x00" + cobs_encode(b) + b"\x00").hex()

    return [
        {"name": "bad_crc", "key": KEY_A, "node_id": 17, "wire_hex": [w(bad_crc)],
         "reject": "crc", "description": "last CRC bit flipped"},
        {"name": "wrong_key", "key": KEY_A, "node_id": 17, "wire_hex": [w(wrong_key)],
         "reject": "tag", "description": "node 17 frame tagged with another node's key"},
        {"name": "replay", "key": KEY_A, "node_id": 17,
         "wire_hex": [good["wire_hex"], good["wire_hex"]], "reject": "replay",
         "description": "the same valid frame twice: the first is accepted"},
        {"name": "version_2", "key": KEY_A, "node_id": 17, "wire_hex": [w(bytes(v2))],
         "reject": "version", "description": "header version 2"},
        {"name": "unknown_node", "key": KEY_A, "node_id": 17, "wire_hex": [w(unknown)],
         "reject": "unknown_node", "description": "node 999 is not in the key registry"},
        {"name": "short", "key": KEY_A, "node_id": 17, "wire_hex": [w(raw[:12])],
         "reject": "short", "description": "truncated frame"},
        {"name": "bad_cobs", "key": KEY_A, "node_id": 17, "wire_hex": ["0005414243" + "00"],
         "reject": "cobs", "description": "COBS code overruns the block"},
        {"name": "bad_payload", "key": KEY_A, "node_id": 17, "wire_hex": [w(bad_payload)],
         "reject": "payload", "description": "count 2 but one reading"},
        {"name": "unknown_type", "key": KEY_A, "node_id": 17, "wire_hex": [w(bad_type)],
         "reject": "type", "description": "message type 9"},
        {"name": "checkin_card_too_long", "key": KEY_A, "node_id": 17,
         "wire_hex": [w(long_card)], "reject": "payload",
         "description": "CHECKIN with an 11-byte card id (at most 10)"},
    ]


def render() -> dict[str, str]:
    """File name -> JSON text."""
    out = {name: json.dumps({"vectors": vecs}, indent=1) + "\n"
           for name, vecs in valid_vectors().items()}
    out["rejects.json"] = json.dumps({"vectors": reject_vectors()}, indent=1) + "\n"
    return out


if __name__ == "__main__":
    VECTOR_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (VECTOR_DIR / name).write_text(text)
        print("wrote", VECTOR_DIR / name)
