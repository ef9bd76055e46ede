"""CRC-16/CCITT-FALSE for the node link (poly 0x1021, init 0xFFFF, check 0x29B1)."""

from __future__ import annotations


def _table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _table()


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    """Return CRC-16/CCITT-FALSE of ``data`` (table-driven; the gateway decodes a lot)."""
    table = _TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ b]
    return crc
