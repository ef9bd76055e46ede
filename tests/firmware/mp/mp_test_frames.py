"""Frame primitives and the shared test vectors, checked on MicroPython."""

import binascii
import json
import random

from epnode import cobs, frames
from epnode.crc16 import crc16
from epnode.hmac256 import TagKey
from epnode.quantities import ALARM_CODES, QUANTITY_CODES

VECTORS = "/vectors/"


def _load(name):
    with open(VECTORS + name) as f:
        return json.load(f)["vectors"]


def test_crc16_check_value():
    assert crc16(b"123456789") == 0x29B1, hex(crc16(b"123456789"))
    assert crc16(b"") == 0xFFFF


def test_hmac_rfc4231():
    k1 = TagKey(b"\x0b" * 20, 0)
    assert binascii.hexlify(k1.mac(b"Hi There")) == (
        b"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    k6 = TagKey(b"\xaa" * 131, 0)  # longer than the block: hashed first
    assert binascii.hexlify(k6.mac(b"Test Using Larger Than Block-Size Key - Hash Key First")) == (
        b"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    assert k1.tag(b"Hi There") == k1.mac(b"Hi There")[:8]


def test_short_key_refused():
    try:
        TagKey(b"x" * 15)
    except ValueError:
        return
    raise AssertionError("15-byte key accepted")


def test_cobs_roundtrip_random():
    random.seed(1)
    for n in list(range(20)) + [253, 254, 255, 508, 600]:  # noqa: RUF005 - MicroPython
        for _ in range(5):
            data = bytes([random.getrandbits(8) if random.getrandbits(2) else 0
                          for _ in range(n)])
            enc = cobs.encode(data)
            assert 0 not in enc, (n, data)
            assert len(enc) <= n + n // 254 + 1
            assert cobs.decode(enc) == data, (n, data)


def test_cobs_rejects_malformed():
    for bad in (b"\x05ab", b"\x02\x00", b"\x03a"):
        try:
            cobs.decode(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def _payload(fields):
    t = fields["type"]
    if t == "readings":
        return frames.T_READINGS, frames.readings_payload(
            [(QUANTITY_CODES[r["quantity"]], r["raw"]) for r in fields["readings"]])
    if t == "alarm":
        return frames.T_ALARM, frames.alarm_payload(
            [(ALARM_CODES[a["kind"]], a["raised"], a["raw"]) for a in fields["alarms"]])
    if t == "checkin":
        c = fields["checkin"]
        return frames.T_CHECKIN, frames.checkin_payload(c["kind_code"],
                                                        binascii.unhexlify(c["card_id_hex"]))
    s = fields["status"]
    return frames.T_STATUS, frames.status_payload(s["wake_code"], s["flags_byte"],
                                                  tuple(s["firmware"]), s.get("interval_s", -1))


def test_vectors_encode():
    n = 0
    for fname in ("readings.json", "alarms.json", "status.json", "checkin.json"):
        for v in _load(fname):
            key = TagKey(binascii.unhexlify(v["key"]))
            f = v["fields"]
            ftype, payload = _payload(f)
            wire = frames.build(ftype, f["node_id"], f["seq"], payload, key)
            assert binascii.hexlify(wire).decode() == v["wire_hex"], v["name"]
            assert len(wire) == v["wire_len"]
            n += 1
    assert n >= 13, n


def test_vectors_decode():
    for fname in ("readings.json", "alarms.json", "status.json", "checkin.json"):
        for v in _load(fname):
            key = TagKey(binascii.unhexlify(v["key"]))
            f = v["fields"]
            wire = binascii.unhexlify(v["wire_hex"])
            assert wire[0] == 0 and wire[-1] == 0
            raw = cobs.decode(wire[1:-1])
            assert binascii.hexlify(raw).decode() == v["raw_hex"]
            ftype, node_id, seq, payload = frames.parse_raw(
                raw, lambda nid, k=key, want=f["node_id"]: k if nid == want else None)
            assert (node_id, seq) == (f["node_id"], f["seq"]), v["name"]
            entries = frames.parse_payload(ftype, payload)
            if f["type"] == "readings":
                assert ftype == frames.T_READINGS
                assert [(q, r) for q, r in entries] == [
                    (r["code"], r["raw"]) for r in f["readings"]]
            elif f["type"] == "alarm":
                assert ftype == frames.T_ALARM
                assert [(k, s == 1, r) for k, s, r in entries] == [
                    (a["code"], a["raised"], a["raw"]) for a in f["alarms"]]
            elif f["type"] == "checkin":
                c = f["checkin"]
                assert ftype == frames.T_CHECKIN
                assert entries == [(c["kind_code"], binascii.unhexlify(c["card_id_hex"]))]
            else:
                s = f["status"]
                want = (s["wake_code"], s["flags_byte"]) + tuple(s["firmware"])  # noqa: RUF005
                if "interval_s" in s:
                    want = want + (s["interval_s"],)  # noqa: RUF005 - MicroPython
                assert entries == [want]


def test_vectors_rejects():
    checked = []
    for v in _load("rejects.json"):
        if v["reject"] == "replay":
            continue  # replay windows live on the receiver (gateway), not on the node
        key = TagKey(binascii.unhexlify(v["key"]))
        wire = binascii.unhexlify(v["wire_hex"][0])
        reason = None
        try:
            raw = cobs.decode(wire[1:-1])
            ftype, _, _, payload = frames.parse_raw(
                raw, lambda nid, k=key, want=v["node_id"]: k if nid == want else None)
            frames.parse_payload(ftype, payload)
        except ValueError as exc:
            msg = str(exc)
            reason = "cobs" if msg.startswith("cobs") else msg.split(":")[0]
        assert reason == v["reject"], (v["name"], reason)
        checked.append(v["name"])
    assert len(checked) >= 9, checked


def test_sizes_within_budget():
    key = TagKey(b"k" * 32)
    alarm = frames.build(frames.T_ALARM, 65534, 0xFFFFFFFF,
                         frames.alarm_payload([(1, 1, 1)]), key)
    assert len(alarm) <= 32, len(alarm)
    typical = frames.build(frames.T_READINGS, 65534, 0xFFFFFFFF,
                           frames.readings_payload([(1, -100), (2, 3700), (3, 900), (4, 5000)]),
                           key)
    assert len(typical) <= 48, len(typical)
