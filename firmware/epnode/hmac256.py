"""HMAC-SHA256 (RFC 2104) on top of ``hashlib.sha256``.

Stock ESP32 and rp2 firmware ship ``hashlib`` but not ``hmac``, so the node computes the
HMAC itself. The padded keys are prepared once per boot (``TagKey``) because a wake cycle
on a battery node should not redo that work for every frame.
"""

import hashlib

BLOCK = 64


class TagKey:
    """A per-node key prepared for HMAC-SHA256; never printed (no __repr__ of the key)."""

    def __init__(self, key: bytes, min_len: int = 16) -> None:
        # Node keys are provisioned at 32 bytes; shorter ones are refused (min_len=0 only
        # for the RFC 4231 test vectors).
        if len(key) < min_len:
            raise ValueError("node key too short")
        if len(key) > BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key + bytes(BLOCK - len(key))
        self._ipad = bytes([b ^ 0x36 for b in padded])
        self._opad = bytes([b ^ 0x5C for b in padded])

    def __repr__(self) -> str:
        return "TagKey(<hidden>)"

    def mac(self, msg: bytes) -> bytes:
        """Return the full 32-byte HMAC-SHA256 of ``msg``."""
        inner = hashlib.sha256(self._ipad)
        inner.update(msg)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def tag(self, msg: bytes, length: int = 8) -> bytes:
        """Return the HMAC truncated to ``length`` bytes (the node-link tag)."""
        return self.mac(msg)[:length]
