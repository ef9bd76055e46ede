"""Patrol check-in cards: parse what a card reader sends over its UART into card ids.

Why on the node: the reader speaks ASCII (hex digits with framing), the node link carries
the raw id in a few bytes (``frames.checkin_payload``), so the node parses and checks the
reader's framing and the gateway never sees reader bytes.

Two reader families are supported (``card_reader`` in node.json):

* ``em4100``: 125 kHz readers of the RDM6300 kind. One frame per read, 14 bytes:
  STX (0x02), 10 hex digits (version/customer byte + 32-bit tag id), 2 hex digits of
  checksum (XOR of the 5 data bytes), ETX (0x03). Such readers repeat the frame while the
  card is held, so a frame lost while the node wakes is sent again.
* ``nfc_uid``: NFC readers set to print the UID of an ISO 14443 card as one line of hex
  digits (8, 14 or 20: a 4, 7 or 10-byte UID) ended by CR and/or LF.

Contract: ``feed`` never raises and never holds more than ``MAX_PENDING`` bytes, whatever
arrives; bytes that do not form a valid frame are counted in ``errors`` and skipped up to
the next frame start (em4100) or line end (nfc_uid).
"""

from epnode.frames import CARD_EM4100, CARD_NFC_UID

STX = 0x02
ETX = 0x03
EM4100_FRAME_LEN = 14
NFC_UID_LENS = (4, 7, 10)
# Longest frame we parse is 20 hex digits + CR LF: anything longer is noise, dropped.
MAX_PENDING = 24
FORMATS = ("em4100", "nfc_uid")


def _hex_value(c: int) -> int:
    """Value of one ASCII hex digit, -1 if it is not one."""
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


def hex_bytes(digits: bytes) -> bytes:
    """ASCII hex (even length) to bytes; raises ValueError on a non-hex digit."""
    out = bytearray()
    for i in range(0, len(digits) - 1, 2):
        hi, lo = _hex_value(digits[i]), _hex_value(digits[i + 1])
        if hi < 0 or lo < 0:
            raise ValueError("not hex")
        out.append(hi * 16 + lo)
    return bytes(out)


def parse_em4100(frame: bytes) -> bytes:
    """The 5-byte id of one complete EM4100 ASCII frame; raises ValueError if invalid."""
    if len(frame) != EM4100_FRAME_LEN or frame[0] != STX or frame[-1] != ETX:
        raise ValueError("em4100: frame shape")
    data = hex_bytes(frame[1:13])
    x = 0
    for b in data[:5]:
        x ^= b
    if x != data[5]:
        raise ValueError("em4100: checksum")
    return data[:5]


class CardParser:
    """Incremental parser for one reader; ``feed(bytes)`` returns [(kind, id bytes)]."""

    def __init__(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError("card reader format must be one of " + ", ".join(FORMATS))
        self.fmt = fmt
        self.errors = 0
        self._buf = bytearray()
        self._skip = False  # nfc_uid: discarding the rest of a bad line

    def feed(self, data: bytes) -> list:
        """Process reader bytes; return the complete, valid card reads in them."""
        out: list = []
        for c in data:
            if self.fmt == "em4100":
                self._em4100(c, out)
            else:
                self._nfc(c, out)
        return out

    def _em4100(self, c: int, out: list) -> None:
        if c == STX:
            if self._buf:
                self.errors += 1  # a frame started before the last one ended
            self._buf = bytearray([c])
            return
        if not self._buf:
            self.errors += 1  # noise between frames
            return
        self._buf.append(c)
        if c == ETX or len(self._buf) >= EM4100_FRAME_LEN:
            frame = bytes(self._buf)
            self._buf = bytearray()
            try:
                out.append((CARD_EM4100, parse_em4100(frame)))
            except ValueError:
                self.errors += 1

    def _nfc(self, c: int, out: list) -> None:
        if c in (10, 13):
            if self._buf and not self._skip:
                n = len(self._buf)
                if n % 2 == 0 and n // 2 in NFC_UID_LENS:
                    out.append((CARD_NFC_UID, hex_bytes(bytes(self._buf))))
                else:
                    self.errors += 1
            self._buf = bytearray()
            self._skip = False
            return
        if self._skip:
            return
        if _hex_value(c) < 0 or len(self._buf) >= MAX_PENDING:
            self.errors += 1
            self._buf = bytearray()
            self._skip = True
            return
        self._buf.append(c)
