"""Consistent Overhead Byte Stuffing (COBS) for the node link.

COBS removes every 0x00 from a frame so 0x00 can delimit frames on a byte stream;
the cost is one byte per 254 bytes of data, i.e. exactly one byte for our frames.
"""


def encode(data: bytes) -> bytes:
    """Return the COBS encoding of ``data`` (contains no 0x00 byte)."""
    out = bytearray()
    code_pos = 0
    out.append(0)  # placeholder for the first code byte
    code = 1
    for b in data:
        if b == 0:
            out[code_pos] = code
            code_pos = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_pos] = code
                code_pos = len(out)
                out.append(0)
                code = 1
    out[code_pos] = code
    return bytes(out)


def decode(data: bytes) -> bytes:
    """Decode one COBS block (without delimiters); raise ValueError if malformed."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ValueError("cobs: zero byte inside block")
        end = i + code
        if end > n:
            raise ValueError("cobs: block overruns data")
        for j in range(i + 1, end):
            b = data[j]
            if b == 0:
                raise ValueError("cobs: zero byte inside block")
            out.append(b)
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
