"""COBS (Consistent Overhead Byte Stuffing) encode/decode for the node link."""

from __future__ import annotations


class CobsError(ValueError):
    """A COBS block is malformed (zero byte inside, or a code that overruns the block)."""


def cobs_encode(data: bytes) -> bytes:
    """Return the COBS encoding of ``data``; the result contains no 0x00 byte.

    Same algorithm as firmware/epnode/cobs.py (a full 254-byte run is followed by a new
    block even at the end), so both sides produce identical bytes for the test vectors.
    """
    out = bytearray(b"\x00")
    code_pos = 0
    code = 1
    for b in data:
        if b == 0:
            out[code_pos] = code
            code_pos = len(out)
            out.append(0)
            code = 1
            continue
        out.append(b)
        code += 1
        if code == 0xFF:
            out[code_pos] = code
            code_pos = len(out)
            out.append(0)
            code = 1
    out[code_pos] = code
    return bytes(out)


def cobs_decode(block: bytes) -> bytes:
    """Decode one COBS block (no delimiters). Raise :class:`CobsError` if malformed."""
    if 0 in block:
        raise CobsError("zero byte inside COBS block")
    out = bytearray()
    i = 0
    n = len(block)
    while i < n:
        code = block[i]
        end = i + code
        if end > n:
            raise CobsError("COBS code overruns block")
        out += block[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
