"""CRC-16/CCITT-FALSE for the node link (poly 0x1021, init 0xFFFF, check 0x29B1).

Why a wrapper: the algorithm is the standard library's ``binascii.crc_hqx`` (CRC-CCITT,
poly 0x1021, no reflection, no final XOR); started at 0xFFFF it is exactly CCITT-FALSE. The
name stays so the frame codec reads as the protocol document does. The firmware keeps its own
table-driven copy because MicroPython's ``binascii`` has no ``crc_hqx``.
"""

from __future__ import annotations

import binascii

INIT = 0xFFFF  # CCITT-FALSE starts from all ones (crc_hqx takes the start value as an argument)


def crc16_ccitt(data: bytes, crc: int = INIT) -> int:
    """Return CRC-16/CCITT-FALSE of ``data`` (``crc`` continues a previous computation)."""
    return binascii.crc_hqx(data, crc)
