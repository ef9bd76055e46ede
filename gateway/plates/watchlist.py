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

import csv
import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gateway.plates.format import _CLASS_CHARS, _LAYOUTS, is_valid
from gateway.textfile import read_utf8

TOKEN_BYTES = 16  # truncated HMAC-SHA256: 128 bits, collisions negligible for any list size
COLUMNS = ("pattern", "kind", "label", "priority")  # the CSV header; only pattern is required
MIN_WILDCARD_FIXED = 2  # a wildcard with fewer fixed characters than this matches nearly anything
MAX_PRIORITY = 9  # the event priority scale (gateway/plates/config.py match_priority)


class WatchListError(ValueError):
    """A clear watch list cannot be compiled. The message names the line and what is wrong,
    never the plate text: the list is sensitive."""


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


def check_entry(entry: WatchEntry) -> None:
    """Raise :class:`WatchListError` unless ``entry`` can match a real mainland plate."""
    p = entry.pattern.strip().upper()
    if not p:
        raise WatchListError("empty pattern")
    if entry.kind is MatchKind.WILDCARD:
        star = p.endswith("*")
        body = p[:-1] if star else p
        if "*" in body:
            raise WatchListError("'*' is allowed only at the end of a wildcard pattern")
        if sum(c != "?" for c in body) < MIN_WILDCARD_FIXED:
            raise WatchListError(f"a wildcard needs at least {MIN_WILDCARD_FIXED} fixed "
                                 "characters (it would match almost every plate)")
        if not any(_fits(body, layout, open_end=star) for layout in _LAYOUTS.values()):
            raise WatchListError("wildcard pattern fits no plate format (a province, a letter, "
                                 "then letters/digits; 7 or 8 characters)")
    elif not is_valid(p):
        raise WatchListError(f"{entry.kind} pattern is not a possible plate: it must be a whole "
                             "mainland plate such as 京N5X7Q2 or 粤BD73815 (no I or O; 7 or 8 "
                             "characters; two letters at most after the office's letter)")
    if not 0 <= entry.priority <= MAX_PRIORITY:
        raise WatchListError(f"priority must be 0..{MAX_PRIORITY}")
    body = p.replace("?", "").rstrip("*")
    if body and body in entry.label.upper():
        raise WatchListError("the label contains the plate; use an opaque case id")


def _fits(body: str, layout: str, *, open_end: bool) -> bool:
    if len(body) > len(layout) or (not open_end and len(body) != len(layout)):
        return False
    for ch, cls in zip(body, layout, strict=False):
        if ch != "?" and ch not in _CLASS_CHARS.get(cls, cls):
            return False
    return True


def parse_watchlist_csv(text: str) -> list[WatchEntry]:
    """Entries of a clear watch list in CSV (header ``pattern,kind,label,priority``).

    Every problem raises :class:`WatchListError` naming the line (1 = the header) and the
    column, e.g. ``line 4: kind 'exakt' is not one of exact, wildcard, fuzzy``.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    cleaned = [h.strip().lower() for h in header]
    if "pattern" not in cleaned:
        # Echo the first line only when it reads as column names: a list without a header
        # starts with a plate, which must not appear in a message.
        looks_like_names = all(h.replace("_", "").replace(" ", "").isascii()
                               and h.replace("_", "").replace(" ", "").isalpha() for h in header)
        found = (",".join(header) if looks_like_names else "a data line") if header else "nothing"
        raise WatchListError(f"line 1: the header must name the columns {','.join(COLUMNS)} "
                             f"(at least pattern); found {found}")
    unknown = [h for h in cleaned if h not in COLUMNS]
    if unknown:
        raise WatchListError(f"line 1: unknown column {', '.join(map(repr, unknown))}; the "
                             f"columns are {','.join(COLUMNS)}")
    kinds = ", ".join(k.value for k in MatchKind)
    entries: list[WatchEntry] = []
    for row in reader:
        where = f"line {reader.line_num}"
        values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise WatchListError(f"{where}: more fields than the header's {len(header)} columns")
        if not any(values.values()):
            continue  # a blank line
        kind_text = values.get("kind") or "exact"
        try:
            kind = MatchKind(kind_text.lower())
        except ValueError:
            raise WatchListError(f"{where}: kind {kind_text!r} is not one of {kinds}") from None
        try:
            priority = int(values.get("priority") or 1)
        except ValueError:
            raise WatchListError(f"{where}: priority must be a whole number 0..{MAX_PRIORITY}"
                                 ) from None
        entry = WatchEntry(values.get("pattern", ""), kind, values.get("label", ""), priority)
        try:
            check_entry(entry)
        except WatchListError as exc:
            raise WatchListError(f"{where}: {exc}") from None
        entries.append(entry)
    return entries


def compile_watchlist(entries: list[WatchEntry], key: bytes) -> CompiledWatchList:
    """Turn clear entries into tokens with the site ``key`` (run centrally, not on the gateway)."""
    if len(key) < 16:
        raise ValueError("site key must be at least 16 bytes")
    for n, entry in enumerate(entries, start=1):
        try:
            check_entry(entry)
        except WatchListError as exc:
            raise WatchListError(f"entry {n}: {exc}") from None
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
        return cls(CompiledWatchList.from_json(read_utf8(path)), key)

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
