"""Searching plates that the site's gateways send as keyed hashes (privacy mode).

Why the centre may hold the key: the issue's privacy rule keeps clear plates off the wire,
but the authority allowed to resolve hashes (the command centre) must still find a plate an
officer reads out. With the site key, the centre hashes the text it is asked for exactly as
the gateways do (``gateway/plates/privacy.py``: ``HMAC-SHA256(key, "plate|" + TEXT)[:n]``,
text stripped and upper-cased) and looks the hash up; it never reverses a hash. Wildcards
can't be hashed: a pattern finds clear-text passages only.

Contract: :func:`load_plate_key` returns the key or raises :class:`PlateKeyError` with one line
naming the file and the fix; :func:`plate_digest` is byte-for-byte the gateway's.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

MIN_KEY_BYTES = 16  # the gateway refuses shorter keys; a shorter one here could never match


class PlateKeyError(ValueError):
    """The plate-hash key file can't be used."""


def load_plate_key(path: Path) -> bytes:
    """The site's plate-hash key: the file's raw bytes without surrounding whitespace (as the gateway)."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise PlateKeyError(f"cannot read the plate-hash key {path}: {exc.strerror}; copy the site's "
                            "plates.privacy.key_file there (readable by the centre only)") from None
    if len(key) < MIN_KEY_BYTES:
        raise PlateKeyError(f"the plate-hash key {path} holds {len(key)} bytes; the site key has at "
                            f"least {MIN_KEY_BYTES}: copy the gateways' plates.privacy.key_file")
    return key


def plate_digest(text: str, key: bytes, n_bytes: int = 16) -> bytes:
    """The keyed hash a gateway in privacy mode sends for plate ``text``."""
    return hmac.new(key, ("plate|" + text.strip().upper()).encode("utf-8"), hashlib.sha256).digest()[:n_bytes]
