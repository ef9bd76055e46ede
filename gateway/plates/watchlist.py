"""Watch list matched as keyed hashes: the gateway never holds the listed plates in clear.

Entries (written centrally, in clear, by whoever keeps the list) are one of:

* ``exact``    — ``皖A12345``
* ``wildcard`` — ``?`` stands for exactly one character, a trailing ``*`` for any rest:
  ``皖A?23?5``, ``皖AD*``
* ``fuzzy``    — the plate or any plate at Levenshtein distance <= 1 (one substitution,
  insertion or deletion), for misreads.

:func:`compile_watchlist` turns them, with the site key, into a :class:`CompiledWatchList`
(JSON) of HMAC-SHA256 tokens only. The gateway loads that and :meth:`WatchList.match`
hashes each read's variants with the same key and looks them up:

* exact: token of ``"E|" + plate``;
* wildcard: the mask (which positions are fixed, and the length or ``*``) is stored in
  clear, the fixed characters only as token of ``"W|" + mask + "|" + fixed chars``;
* fuzzy: tokens of the plate (``"E|"``), of each same-position deletion ``"S|i|" + plate
  without char i`` (catches a substitution at i) and of each deletion ``"D|" + plate
  without char i`` (catches a read missing a character); a read with an extra character is
  caught by hashing the read's own deletions as ``"E|"``. This matches exactly distance <= 1 with
  ``2n + 1`` tokens per entry instead of the thousands of explicit neighbours.

Trade-off (honest): the gateway must hold the site key to hash what it reads, so whoever
controls a gateway *and* its key can test candidate plates offline. The mainland plate space
is small (about 10^10 standard plates; wildcard entries with few fixed characters far
smaller), so HMAC tokens stop casual disclosure (config dumps, backups, logs, a stolen SD
card without the key, linking between sites with different keys) but **not** a determined
attacker holding the key. Keep the key out of the config file (a root-only key file or a
secure element), rotate it with the list, use a different key per site, and prefer exact
entries. Wildcard masks and the number of entries are visible.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

TOKEN_BYTES = 16  # truncated HMAC-SHA256: 128 bits, collisions negligible for any list size


class MatchKind(StrEnum):
    """How a watch-list entry matches."""

    EXACT = "exact"
    WILDCARD = "wildcard"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class WatchEntry:
    """A clear-text entry, as kept centrally (never shipped to a gateway)."""

    pattern: str
    kind: MatchKind = MatchKind.EXACT
    #: opaque label for the event (e.g. a case id); must not contain the plate
    label: str = ""
    #: event priority raised to this on a match (0 = normal)
    priority: int = 1


@dataclass(frozen=True)
class WatchMatch:
    """A read matched a watch-list entry."""

    label: str
    kind: MatchKind
    priority: int
    #: 0 for exact/wildcard, 1 for a fuzzy match that was not exact
    distance: int


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _token(key: bytes, msg: str) -> str:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()[:TOKEN_BYTES].hex()


def _mask_of(pattern: str) -> tuple[str, str]:
    """(mask, fixed chars) of a wildcard pattern; mask like ``"11?1*"``."""
    star = pattern.endswith("*")
    body = pattern[:-1] if star else pattern
    if "*" in body:
        raise ValueError(f"'*' is allowed only at the end: {pattern!r}")
    mask = "".join("?" if c == "?" else "1" for c in body) + ("*" if star else "")
    fixed = "".join(c for c in body if c != "?")
    return mask, fixed


def _apply_mask(text: str, mask: str) -> str | None:
    star = mask.endswith("*")
    body = mask[:-1] if star else mask
    if (star and len(text) < len(body)) or (not star and len(text) != len(body)):
        return None
    return "".join(c for c, m in zip(text, body, strict=False) if m == "1")


@dataclass
class CompiledWatchList:
    """What the gateway stores: tokens, masks and opaque labels — no plate text."""

    version: int
    tokens: dict[str, list[int]]  # token -> indices into meta
    masks: list[str]
    meta: list[dict]  # {"label", "kind", "priority"}

    def to_json(self) -> str:
        """Serialise (the file shipped to gateways)."""
        return json.dumps(
            {"version": self.version, "tokens": self.tokens, "masks": self.masks, "meta": self.meta},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, data: str) -> CompiledWatchList:
        """Parse a compiled list; raises ``ValueError`` on a malformed one."""
        d = json.loads(data)
        if not isinstance(d, dict) or d.get("version") != 1:
            raise ValueError("not a version-1 compiled watch list")
        return cls(
            1,
            {str(k): [int(i) for i in v] for k, v in d["tokens"].items()},
            list(d["masks"]),
            list(d["meta"]),
        )


def compile_watchlist(entries: list[WatchEntry], key: bytes) -> CompiledWatchList:
    """Turn clear entries into tokens with the site ``key`` (run centrally, not on the gateway)."""
    if len(key) < 16:
        raise ValueError("site key must be at least 16 bytes")
    tokens: dict[str, list[int]] = {}
    masks: set[str] = set()
    meta: list[dict] = []

    def add(tok: str, idx: int) -> None:
        lst = tokens.setdefault(tok, [])
        if idx not in lst:
            lst.append(idx)

    for idx, e in enumerate(entries):
        meta.append({"label": e.label, "kind": str(e.kind), "priority": e.priority})
        p = e.pattern.strip().upper()
        if e.kind is MatchKind.EXACT:
            add(_token(key, "E|" + p), idx)
        elif e.kind is MatchKind.WILDCARD:
            mask, fixed = _mask_of(p)
            masks.add(mask)
            add(_token(key, "W|" + mask + "|" + fixed), idx)
        elif e.kind is MatchKind.FUZZY:
            add(_token(key, "E|" + p), idx)
            for i in range(len(p)):
                dele = p[:i] + p[i + 1 :]
                add(_token(key, f"S|{i}|" + dele), idx)
                add(_token(key, "D|" + dele), idx)
        else:  # pragma: no cover
            raise ValueError(e.kind)
    return CompiledWatchList(1, tokens, sorted(masks), meta)


class WatchList:
    """Gateway side: match reads against a compiled list with the site key."""

    def __init__(self, compiled: CompiledWatchList, key: bytes) -> None:
        self._c = compiled
        self._key = key

    @classmethod
    def load(cls, path: str | Path, key: bytes) -> WatchList:
        """Load a compiled list file."""
        return cls(CompiledWatchList.from_json(Path(path).read_text(encoding="utf-8")), key)

    def __len__(self) -> int:
        return len(self._c.meta)

    def match(self, text: str) -> list[WatchMatch]:
        """All entries ``text`` matches, highest priority first (empty list when none)."""
        if not text:
            return []
        t = text.strip().upper()
        hits: dict[int, int] = {}  # entry -> distance

        def look(msg: str, dist: int, kinds: tuple[str, ...]) -> None:
            for idx in self._c.tokens.get(_token(self._key, msg), ()):
                if self._c.meta[idx]["kind"] in kinds:
                    hits[idx] = min(dist, hits.get(idx, dist))

        look("E|" + t, 0, ("exact", "fuzzy"))
        for mask in self._c.masks:
            fixed = _apply_mask(t, mask)
            if fixed is not None:
                look("W|" + mask + "|" + fixed, 0, ("wildcard",))
        fuzzy = ("fuzzy",)
        for i in range(len(t)):
            dele = t[:i] + t[i + 1 :]
            look(f"S|{i}|" + dele, 1, fuzzy)  # substitution at i
            look("E|" + dele, 1, fuzzy)  # read has one extra character
        look("D|" + t, 1, fuzzy)  # read is missing one character
        out = [
            WatchMatch(
                self._c.meta[i]["label"],
                MatchKind(self._c.meta[i]["kind"]),
                int(self._c.meta[i]["priority"]),
                d,
            )
            for i, d in hits.items()
        ]
        return sorted(out, key=lambda m: (-m.priority, m.distance, m.label))
