"""Card reader framing on MicroPython: EM4100 ASCII frames and NFC UID lines."""

from epnode import frames
from epnode.cardreader import CardParser, parse_em4100


def em4100(id5: bytes) -> bytes:
    x = 0
    for b in id5:
        x ^= b
    digits = "".join(f"{b:02X}" for b in id5) + f"{x:02X}"
    return b"\x02" + digits.encode() + b"\x03"


ID = bytes([0x0A, 0x00, 0x12, 0x34, 0x56])


def test_em4100_frame():
    assert parse_em4100(em4100(ID)) == ID
    p = CardParser("em4100")
    assert p.feed(em4100(ID)) == [(frames.CARD_EM4100, ID)]
    assert p.errors == 0


def test_em4100_split_and_repeated():
    p = CardParser("em4100")
    wire = em4100(ID) * 2
    got = []
    for i in range(len(wire)):
        got.extend(p.feed(wire[i:i + 1]))
    assert got == [(frames.CARD_EM4100, ID)] * 2 and p.errors == 0


def test_em4100_bad_checksum_and_noise_resync():
    p = CardParser("em4100")
    bad = bytearray(em4100(ID))
    bad[11] = ord("0") if bad[11] != ord("0") else ord("1")
    got = p.feed(b"\xff\x13" + bytes(bad) + b"\x02\x02" + em4100(ID))
    assert got == [(frames.CARD_EM4100, ID)], got
    assert p.errors >= 3


def test_nfc_uid_lines():
    p = CardParser("nfc_uid")
    got = p.feed(b"04a1b2c3d4e5f6\r\n" + b"DEADBEEF\n" + b"123\r\n" + b"zz00\n")
    assert got == [(frames.CARD_NFC_UID, bytes([4, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6])),
                   (frames.CARD_NFC_UID, bytes([0xDE, 0xAD, 0xBE, 0xEF]))], got
    assert p.errors == 2


def test_nfc_bounded_buffer():
    p = CardParser("nfc_uid")
    assert p.feed(b"A" * 5000) == [] and p.errors == 1
    assert p.feed(b"\r\n11223344\n") == [(frames.CARD_NFC_UID, bytes([0x11, 0x22, 0x33, 0x44]))]


def test_unknown_format_refused():
    try:
        CardParser("wiegand")
    except ValueError:
        return
    raise AssertionError("accepted an unknown format")


def test_checkin_frame_fits_budget():
    from epnode.hmac256 import TagKey

    wire = frames.build(frames.T_CHECKIN, 65534, 0xFFFFFFFF,
                        frames.checkin_payload(frames.CARD_NFC_UID, b"\xff" * 10), TagKey(b"k" * 32))
    assert len(wire) <= 32, len(wire)
