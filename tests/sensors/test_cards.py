"""Card readers (the node's parser, run in CPython here) and the gateway's card hashing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.sensors.cards import (
    AllowList,
    CardConfigError,
    card_hash,
    main,
    parse_allow_list,
    read_card_key,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
from epnode import frames as fw_frames
from epnode.cardreader import CardParser

KEY = bytes(range(32))


def em4100(id5: bytes) -> bytes:
    x = 0
    for b in id5:
        x ^= b
    return b"\x02" + (id5.hex().upper() + f"{x:02X}").encode() + b"\x03"


@given(st.lists(st.binary(min_size=5, max_size=5), min_size=1, max_size=5),
       st.binary(max_size=40), st.integers(1, 7))
def test_em4100_frames_survive_noise_and_any_split(ids: list[bytes], noise: bytes,
                                                   chunk: int) -> None:
    # Noise without STX/ETX can never fake a frame; each frame after it is read exactly.
    noise = bytes(b for b in noise if b not in (0x02, 0x03))
    wire = noise + b"".join(em4100(i) for i in ids)
    p = CardParser("em4100")
    got = []
    for i in range(0, len(wire), chunk):
        got.extend(p.feed(wire[i:i + chunk]))
    assert got == [(fw_frames.CARD_EM4100, i) for i in ids]


@given(st.binary(max_size=300))
def test_parsers_never_raise_and_stay_bounded(data: bytes) -> None:
    for fmt in ("em4100", "nfc_uid"):
        p = CardParser(fmt)
        for kind, cid in p.feed(data):
            assert 1 <= len(cid) <= fw_frames.MAX_CARD_ID
            assert kind in (fw_frames.CARD_EM4100, fw_frames.CARD_NFC_UID)
        assert len(p._buf) <= 24


@given(st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.sampled_from([b"\r\n", b"\n", b"\r"]), st.booleans())
def test_nfc_uid_lines(uid: bytes, end: bytes, lower: bool) -> None:
    text = uid.hex() if lower else uid.hex().upper()
    assert CardParser("nfc_uid").feed(text.encode() + end) == [(fw_frames.CARD_NFC_UID, uid)]


def test_card_hash_is_keyed_and_kind_separated() -> None:
    cid = bytes.fromhex("0a00123456")
    h = card_hash(KEY, "em4100", cid)
    assert len(h) == 16 and h == card_hash(KEY, "em4100", cid)
    assert h != card_hash(KEY, "nfc_uid", cid)
    assert h != card_hash(bytes(32), "em4100", cid)


def test_allow_list_parse_and_reload(tmp_path: Path) -> None:
    h1, h2 = card_hash(KEY, "em4100", b"\x01" * 5), card_hash(KEY, "em4100", b"\x02" * 5)
    f = tmp_path / "cards.txt"
    f.write_text(f"# patrol cards\n{h1.hex()}  # em4100\n\n")
    allow = AllowList(f)
    assert allow.contains(h1) and not allow.contains(h2)
    f.write_text(f"{h1.hex()}\n{h2.hex().upper()}\n")
    assert allow.contains(h2)
    f.write_text("not a hash at all\n")  # a broken edit keeps the last good list
    assert allow.contains(h2)
    f.write_bytes(b"\xff\xfe binary garbage\n")  # as does a damaged file (a traceback before)
    assert allow.contains(h2) and len(allow) == 2
    with pytest.raises(CardConfigError, match="not UTF-8 text"):
        AllowList(f)
    with pytest.raises(CardConfigError, match="line 2"):
        parse_allow_list("# ok\n1234\n", "x")


def test_key_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CardConfigError, match="at least 16"):
        (tmp_path / "k").write_bytes(b"short")
        read_card_key(tmp_path / "k")
    with pytest.raises(CardConfigError, match="No such file"):
        read_card_key(tmp_path / "missing")


def test_cli_prints_hashes_for_the_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    (tmp_path / "k").write_bytes(KEY)
    assert main(["--key-file", str(tmp_path / "k"), "em4100", "0A00123456"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == card_hash(KEY, "em4100", bytes.fromhex("0a00123456")).hex()
    assert "0A00123456" not in out  # the list holds hashes only
