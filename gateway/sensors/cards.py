"""Patrol cards: the keyed hash a check-in carries, and the allow-list of known cards.

Why a keyed hash: a card id identifies a person's card; it must not leave the site in
clear, yet the centre must recognise the same card across check-ins. As with plates
(gateway/plates/privacy.py), the gateway sends ``HMAC-SHA256(site card key, card)[:16]``;
without the key nobody can test a guessed id against it.

Contract: ``card_hash(key, kind, card_id)`` hashes ``b"card|" + kind + b"|" + hex id``
(upper-case hex), so the same card gives the same hash on every gateway of the site and
an EM4100 id never collides with an NFC UID of the same bytes. The allow-list file holds
such hashes, one per line; make them with ``python -m gateway.sensors.cards``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import os
import sys
import threading
from pathlib import Path

from gateway.textfile import read_utf8

log = logging.getLogger(__name__)

CARD_HASH_BYTES = 16
MIN_KEY_BYTES = 16
KINDS = ("em4100", "nfc_uid")


class CardConfigError(ValueError):
    """The card key or the allow-list cannot be used; says which file and what to fix."""


def card_hash(key: bytes, kind: str, card_id: bytes) -> bytes:
    """The 16-byte keyed hash of one card (see the module docstring)."""
    msg = b"card|" + kind.encode("ascii") + b"|" + card_id.hex().upper().encode("ascii")
    return hmac.new(key, msg, hashlib.sha256).digest()[:CARD_HASH_BYTES]


def read_card_key(path: Path) -> bytes:
    """The site card key (raw bytes, at least 16)."""
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise CardConfigError(f"card key file {path}: {exc.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise CardConfigError(f"card key file {path}: needs at least {MIN_KEY_BYTES} bytes "
                              "(e.g. head -c 32 /dev/urandom > FILE; chmod 600 FILE)")
    return key


def parse_allow_list(text: str, where: str) -> frozenset[bytes]:
    """Card hashes from allow-list text: 32 hex digits per line, ``#`` starts a comment."""
    out = set()
    for n, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            h = bytes.fromhex(item)
        except ValueError:
            h = b""
        if len(h) != CARD_HASH_BYTES:
            raise CardConfigError(f"{where} line {n}: expected a card hash of "
                                  f"{2 * CARD_HASH_BYTES} hex digits")
        out.add(h)
    return frozenset(out)


class AllowList:
    """Known card hashes from a file, reread when the file changes. Thread-safe.

    A file that becomes unreadable or bad keeps the previous list in force (logged once per
    change), so an editing mistake does not flag every patrol as unknown.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._hashes = self._load()

    def _load(self) -> frozenset[bytes]:
        try:
            st = os.stat(self.path)
            text = read_utf8(self.path)
        except OSError as exc:
            raise CardConfigError(f"card allow-list {self.path}: {exc.strerror}") from None
        hashes = parse_allow_list(text, str(self.path))
        self._stamp = (st.st_mtime_ns, st.st_size)
        return hashes

    def contains(self, h: bytes) -> bool:
        """Whether ``h`` is on the list (rereads the file first if it changed)."""
        self._reload_if_changed()
        with self._lock:
            return h in self._hashes

    def __len__(self) -> int:
        with self._lock:
            return len(self._hashes)

    def _reload_if_changed(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if (st.st_mtime_ns, st.st_size) == self._stamp:
            return
        try:
            hashes = self._load()
        except CardConfigError as exc:
            self._stamp = (st.st_mtime_ns, st.st_size)  # say it once per change
            log.error("%s; keeping the previous list of %d cards", exc, len(self))
            return
        with self._lock:
            self._hashes = hashes
        log.info("card allow-list: %d cards from %s", len(hashes), self.path)


def main(argv: list[str] | None = None) -> int:
    """Print the card hash of each card id given (for the allow-list file)."""
    ap = argparse.ArgumentParser(
        prog="python -m gateway.sensors.cards",
        description="Print the hash of patrol cards for the gateway's card allow-list "
        "([sensors.checkin] allow_list): one line per card, to append to the file.")
    ap.add_argument("--key-file", type=Path, required=True, help="the site card key file")
    ap.add_argument("kind", choices=KINDS, help="card technology")
    ap.add_argument("card_id", nargs="+", help="card id in hex, e.g. 0A00123456 (EM4100) "
                    "or 04A1B2C3D4E5F6 (NFC UID)")
    args = ap.parse_args(argv)
    try:
        key = read_card_key(args.key_file)
    except CardConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for cid in args.card_id:
        try:
            raw = bytes.fromhex(cid)
        except ValueError:
            print(f"error: {cid!r} is not hex", file=sys.stderr)
            return 2
        print(f"{card_hash(key, args.kind, raw).hex()}  # {args.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
