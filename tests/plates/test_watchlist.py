"""Watch list as keyed hashes, and the privacy hash."""

from __future__ import annotations

import json

import pytest

from gateway.plates.privacy import plate_hash
from gateway.plates.watchlist import (
    CompiledWatchList,
    MatchKind,
    WatchEntry,
    WatchList,
    compile_watchlist,
    levenshtein,
)

KEY = b"site-key-0123456789abcdef"


@pytest.fixture
def wl(tmp_path):
    entries = [
        WatchEntry("皖A12345", MatchKind.EXACT, "case-1", 3),
        WatchEntry("京A?23?5", MatchKind.WILDCARD, "case-2", 2),
        WatchEntry("沪AD*", MatchKind.WILDCARD, "case-3", 1),
        WatchEntry("苏E88888", MatchKind.FUZZY, "case-4", 2),
    ]
    compiled = compile_watchlist(entries, KEY)
    p = tmp_path / "watch.json"
    p.write_text(compiled.to_json(), encoding="utf-8")
    return WatchList.load(p, KEY), p.read_text(encoding="utf-8")


def test_compiled_list_holds_no_plate_text(wl) -> None:
    _, text = wl
    d = json.loads(text)
    assert set(d) == {"version", "tokens", "masks", "meta"}
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in d["tokens"])  # hex HMAC tokens only
    clear = json.dumps({"masks": d["masks"], "meta": d["meta"]}, ensure_ascii=False)
    for frag in ["皖", "京", "沪", "苏", "12345", "88888", "A", "D", "E"]:
        assert frag not in clear.replace("case-", "").replace("exact", "").replace("wildcard", "").replace(
            "fuzzy", ""
        )


def test_exact(wl) -> None:
    w, _ = wl
    m = w.match("皖A12345")
    assert [x.label for x in m] == ["case-1"] and m[0].distance == 0 and m[0].priority == 3
    assert w.match("皖A12346") == []  # exact entries are not fuzzy


def test_wildcards(wl) -> None:
    w, _ = wl
    assert [x.label for x in w.match("京A92375")] == ["case-2"]
    assert w.match("京A92376") == []
    assert w.match("京A923755") == []  # '?' is one character, length fixed
    assert [x.label for x in w.match("沪AD12345")] == ["case-3"]
    assert [x.label for x in w.match("沪ADF")] == ["case-3"]
    assert w.match("沪AF12345") == []


def test_fuzzy_is_exactly_edit_distance_one(wl) -> None:
    w, _ = wl
    assert w.match("苏E88888")[0].distance == 0
    assert w.match("苏E88588")[0].distance == 1  # substitution
    assert w.match("苏E8888")[0].distance == 1  # deletion
    assert w.match("苏E888888")[0].distance == 1  # insertion
    assert w.match("苏E885588") == []  # two edits
    assert w.match("苏E55888") == []  # two substitutions
    assert w.match("苏88888E") == []  # transposition-like, distance 2


def test_fuzzy_agrees_with_levenshtein_bruteforce() -> None:
    entry = "粤B12345"
    w = WatchList(compile_watchlist([WatchEntry(entry, MatchKind.FUZZY, "x")], KEY), KEY)
    cands = {entry}
    alphabet = "粤B123459A"
    for i in range(len(entry) + 1):
        for c in alphabet:
            cands.add(entry[:i] + c + entry[i:])
            if i < len(entry):
                cands.add(entry[:i] + c + entry[i + 1 :])
                cands.add(entry[:i] + entry[i + 1 :])
                for c2 in alphabet:
                    cands.add(entry[:i] + c + c2 + entry[i + 2 :])
    for c in cands:
        assert bool(w.match(c)) == (levenshtein(c, entry) <= 1), c


def test_wrong_key_matches_nothing(wl) -> None:
    _, text = wl
    w2 = WatchList(CompiledWatchList.from_json(text), b"another-key-0123456789")
    assert w2.match("皖A12345") == []


def test_priority_order_and_empty() -> None:
    entries = [
        WatchEntry("皖A12345", MatchKind.EXACT, "low", 1),
        WatchEntry("皖A1234?", MatchKind.WILDCARD, "high", 5),
    ]
    w = WatchList(compile_watchlist(entries, KEY), KEY)
    assert [m.label for m in w.match("皖A12345")] == ["high", "low"]
    assert w.match("") == []


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        compile_watchlist([], b"short")
    with pytest.raises(ValueError):
        compile_watchlist([WatchEntry("皖*A1", MatchKind.WILDCARD)], KEY)
    with pytest.raises(ValueError):
        CompiledWatchList.from_json('{"version": 9}')


def test_privacy_hash() -> None:
    h = plate_hash("皖A12345", KEY)
    assert h.startswith("hmac-sha256:") and len(h) == len("hmac-sha256:") + 32
    assert h == plate_hash("皖a12345 ", KEY)
    assert h != plate_hash("皖A12345", b"other-key-0123456789")
    assert "12345" not in h
    with pytest.raises(ValueError):
        plate_hash("皖A12345", b"short")
