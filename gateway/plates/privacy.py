"""Privacy option: publish a plate as a keyed hash instead of clear text."""

from __future__ import annotations

import hashlib
import hmac

PLATE_HASH_PREFIX = "hmac-sha256:"


def plate_digest(text: str, key: bytes, n_bytes: int = 16) -> bytes:
    """The raw keyed hash: ``HMAC-SHA256(key, "plate|" + text)[:n_bytes]`` (see :func:`plate_hash`)."""
    if not 8 <= n_bytes <= 32:
        raise ValueError("n_bytes must be between 8 and 32")
    if len(key) < 16:
        raise ValueError("privacy key must be at least 16 bytes")
    return hmac.new(key, ("plate|" + text.strip().upper()).encode("utf-8"), hashlib.sha256).digest()[:n_bytes]


def plate_hash(text: str, key: bytes, n_bytes: int = 16) -> str:
    """``"hmac-sha256:" + hex(HMAC-SHA256(key, "plate|" + text)[:n_bytes])``.

    The same plate under the same site key always gives the same value, so subscribers can
    count and correlate passages without seeing plates; with a different key (another site,
    a rotated key) values do not link. Whoever holds the key can test candidate plates, so
    the key stays on the gateway (key file readable by the service only) and with the
    authority allowed to resolve hashes. ``n_bytes`` between 8 and 32.
    """
    return PLATE_HASH_PREFIX + plate_digest(text, key, n_bytes).hex()
