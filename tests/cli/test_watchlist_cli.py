"""``edgepost plates keygen`` and ``compile-watchlist``: a key file 0600, a CSV checked with
messages that name the line and the problem (never the plate), and a parser that never fails
with anything but :class:`WatchListError` (hypothesis)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.plates.charset import DIGITS, LETTERS, PROVINCES
from gateway.plates.report import read_key
from gateway.plates.watchlist import (
    MatchKind,
    WatchEntry,
    WatchList,
    WatchListError,
    compile_watchlist,
    parse_watchlist_csv,
)
from tests.conftest import REPO


def edgepost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    key = tmp_path / "site.key"
    res = edgepost("plates", "keygen", str(key))
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = read_key(key)
    assert len(first) == 64 and bytes.fromhex(first.decode())  # 32 bytes as hex
    again = edgepost("plates", "keygen", str(key))
    assert again.returncode == 2 and "--force" in again.stderr
    assert read_key(key) == first, "an existing key must not be replaced silently"
    key.chmod(0o644)
    assert edgepost("plates", "keygen", str(key), "--force").returncode == 0
    assert read_key(key) != first and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_compile_with_a_generated_key_matches_on_the_gateway(tmp_path: Path) -> None:
    key = tmp_path / "site.key"
    assert edgepost("plates", "keygen", str(key)).returncode == 0
    csv = tmp_path / "list.csv"
    # a spreadsheet's byte-order mark and upper-case header are taken as they come
    csv.write_text("\ufeffPattern,Kind,Label,Priority\n皖A12345,exact,case-1,3\n\n"
                   "沪AD*,wildcard,case-2,\n", encoding="utf-8")
    out = tmp_path / "list.json"
    res = edgepost("plates", "compile-watchlist", str(csv), "--key", str(key), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "compiled 2 entries" in res.stdout
    wl = WatchList.load(out, read_key(key))
    assert [m.label for m in wl.match("皖A12345")] == ["case-1"]
    assert [m.label for m in wl.match("沪AD9999")] == ["case-2"]


@pytest.mark.parametrize(("text", "message"), [
    ("plate,kind\n皖A12345,exact\n", "line 1: the header must name the columns "
     "pattern,kind,label,priority (at least pattern); found plate,kind"),
    ("皖A12345,exact,case-1,3\n", "(at least pattern); found a data line"),
    ("pattern,kind,colour\n皖A12345,exact,blue\n", "line 1: unknown column 'colour'"),
    ("pattern,kind\n皖A12345,exakt\n", "line 2: kind 'exakt' is not one of exact, wildcard, fuzzy"),
    ("pattern,priority\n皖A12345,high\n", "line 2: priority must be a whole number 0..9"),
    ("pattern,priority\n皖A12345,12\n", "line 2: priority must be 0..9"),
    ("pattern\n皖A12345\n皖A1234\n", "line 3: exact pattern is not a possible plate"),
    ("pattern\n皖I12345\n", "line 2: exact pattern is not a possible plate"),
    ("pattern\nXA12345\n", "line 2: exact pattern is not a possible plate"),
    ("pattern\n京ABCD12\n", "line 2: exact pattern is not a possible plate"),
    ("pattern,kind\n皖A123456789,fuzzy\n", "line 2: fuzzy pattern is not a possible plate"),
    ("pattern,kind\n?A*,wildcard\n", "line 2: a wildcard needs at least 2 fixed characters"),
    ("pattern,kind\n皖*A,wildcard\n", "line 2: '*' is allowed only at the end"),
    ("pattern,kind\n皖A??????????,wildcard\n", "line 2: wildcard pattern fits no plate format"),
    ("pattern,kind\nAA?12345,wildcard\n", "line 2: wildcard pattern fits no plate format"),
    ("pattern,label\n皖A12345,stolen 皖A12345\n", "line 2: the label contains the plate"),
    ("pattern\n皖A12345,extra\n", "line 2: more fields than the header's 1 columns"),
    ("pattern,kind\n,exact\n", "line 2: empty pattern"),
])
def test_bad_lists_are_named_by_line_and_problem(tmp_path: Path, text: str, message: str) -> None:
    key = tmp_path / "site.key"
    key.write_text("k" * 32)
    csv = tmp_path / "list.csv"
    csv.write_text(text, encoding="utf-8")
    out = tmp_path / "out.json"
    res = edgepost("plates", "compile-watchlist", str(csv), "--key", str(key), "-o", str(out))
    assert res.returncode == 2
    assert message in res.stderr, res.stderr
    assert "KeyError" not in res.stderr and "Traceback" not in res.stderr
    assert "A1234" not in res.stderr.replace(str(csv), ""), "a plate text leaked into the message"
    assert not out.exists()


def test_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    csv = tmp_path / "list.csv"
    csv.write_text("pattern\n皖A12345\n", encoding="utf-8")
    res = edgepost("plates", "compile-watchlist", str(csv), "--key", str(tmp_path / "k"),
                   "-o", str(tmp_path / "o.json"))
    assert res.returncode == 2
    assert f"edgepost plates keygen {tmp_path / 'k'}" in res.stderr


def test_compile_refuses_impossible_entries_from_the_api_too() -> None:
    with pytest.raises(WatchListError, match="entry 2: exact pattern is not a possible plate"):
        compile_watchlist([WatchEntry("皖A12345"), WatchEntry("12345")], b"k" * 16)


def _plate(province: str, office: str, digits: list[str], letters: list[tuple[int, str]]) -> str:
    serial = list(digits)
    for i, ch in letters:  # a serial holds two letters at most (gateway.plates.format)
        serial[i] = ch
    return province + office + "".join(serial)


plates = st.builds(_plate, st.sampled_from(PROVINCES), st.sampled_from(LETTERS),
                   st.lists(st.sampled_from(DIGITS), min_size=5, max_size=5),
                   st.lists(st.tuples(st.integers(0, 4), st.sampled_from(LETTERS)), max_size=2))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(',\n"?*皖A1x ' + "exactwildfuzy"), max_size=80))
def test_parser_fails_only_with_watchlist_errors(text: str) -> None:
    try:
        entries = parse_watchlist_csv("pattern,kind,label,priority\n" + text)
    except WatchListError as exc:
        assert str(exc).startswith("line ")
    else:
        for e in entries:  # whatever was accepted compiles
            compile_watchlist([e], b"k" * 16)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(plates, st.sampled_from(list(MatchKind))), min_size=1, max_size=5))
def test_valid_plates_parse_and_match(rows: list[tuple[str, MatchKind]]) -> None:
    text = "pattern,kind,label\n" + "".join(
        f"{(p[:3] + '*') if k is MatchKind.WILDCARD else p},{k},case-{i}\n"
        for i, (p, k) in enumerate(rows))
    entries = parse_watchlist_csv(text)
    assert len(entries) == len(rows)
    wl = WatchList(compile_watchlist(entries, b"k" * 16), b"k" * 16)
    for i, (p, _) in enumerate(rows):
        assert f"case-{i}" in {m.label for m in wl.match(p)}
