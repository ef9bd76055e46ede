"""Damaged text files (binary garbage, a wrong type where a table belongs) give one clear message
naming the file, never a traceback; files reread at run time keep what was loaded before.

Found by probing from outside (session 41): a configuration file of non-UTF-8 bytes made
`edgepost gateway check-config`, `gateway run`, `central run` and `hil check-rig` end in a
``UnicodeDecodeError`` traceback, as did a zones overlay holding ``cameras = 5``; a node key
file rewritten with garbage made the node link drop the serial chunk read at every key check.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.loader import ConfigError, load_config
from gateway.config.overlay import OverlayError, merge_overlay
from gateway.textfile import read_utf8

GARBAGE = b"\xff\xfe\x00\x81 not text \xc3\x28"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_read_utf8_gives_the_text_or_an_eilseq_oserror(tmp_path_factory: pytest.TempPathFactory,
                                                        data: bytes) -> None:
    path = tmp_path_factory.mktemp("t") / "f.toml"
    path.write_bytes(data)
    try:
        text = read_utf8(path)
    except OSError as exc:
        assert exc.errno == errno.EILSEQ and exc.filename == str(path)
        assert exc.strerror.startswith("not UTF-8 text (byte ")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    else:
        assert text == data.decode("utf-8")


def _main_config(tmp_path: Path) -> Path:
    path = tmp_path / "edgepost.toml"
    path.write_text('[cameras.gate]\nsource = { uri = "x.mp4" }\ndetector = { model = "m.tflite" }\n')
    return path


def test_a_binary_main_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "edgepost.toml"
    path.write_bytes(GARBAGE)
    with pytest.raises(ConfigError, match=r"edgepost.toml: cannot read: not UTF-8 text \(byte 0 "):
        load_config(path)


@pytest.mark.parametrize("overlay, says", [
    (GARBAGE, "cannot read: not UTF-8 text"),
    (b"cameras = 5\n", r"cameras must be tables \[cameras.<name>.rules\]"),
    (b"cameras = [1, 2]\n", r"cameras must be tables"),
    (b"a = " + b"[" * 5000 + b"]" * 5000, "not valid TOML"),
])
def test_a_damaged_overlay_is_a_config_error_naming_it(tmp_path: Path, overlay: bytes, says: str) -> None:
    path = _main_config(tmp_path)
    (tmp_path / "edgepost.zones.toml").write_bytes(overlay)
    with pytest.raises(ConfigError, match=f"edgepost.zones.toml: {says}"):
        load_config(path)


@pytest.mark.parametrize("main", [b"cameras = 5\n", b"[cameras]\ngate = 5\n",
                                  b'[cameras.gate]\nrules = "x"\n'])
def test_an_overlay_over_a_wrong_main_file_leaves_the_error_to_the_main_file(
        tmp_path: Path, main: bytes) -> None:
    path = tmp_path / "edgepost.toml"
    path.write_bytes(main)
    (tmp_path / "edgepost.zones.toml").write_text("[cameras.gate.rules]\nzones = []\n")
    with pytest.raises(ConfigError, match=r"configuration error.*\n  cameras"):
        load_config(path)


_toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(main=st.dictionaries(st.sampled_from(["cameras", "mqtt"]), _toml_values, max_size=2),
       overlay=st.dictionaries(st.sampled_from(["cameras", "zones"]), _toml_values, max_size=2)
       | st.builds(lambda cams: {"cameras": cams},
                   st.dictionaries(st.sampled_from(["gate", "x"]), _toml_values, max_size=2)))
def test_merging_any_overlay_over_any_main_mapping_is_a_result_or_an_overlay_error(
        main: dict[str, Any], overlay: dict[str, Any]) -> None:
    before = repr(main)
    try:
        merged = merge_overlay(main, overlay, "o.toml")
    except OverlayError as exc:
        assert str(exc).startswith("o.toml: ")
    else:
        assert isinstance(merged, dict)
    assert repr(main) == before


@pytest.mark.parametrize("argv", [
    ["gateway", "check-config", "{f}"],
    ["central", "gaps", "-c", "{f}", "--db", "sqlite:///{d}/c.db"],
    ["hil", "check-rig", "{f}"],
    ["events", "tail", "--password-file", "{f}", "--wait", "1"],
])
def test_the_commands_name_a_binary_file_without_a_traceback(tmp_path: Path, argv: list[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(GARBAGE)
    args = [a.format(f=bad, d=tmp_path) for a in argv]
    run = subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "Traceback" not in out and "UnicodeDecodeError" not in out, out
    assert "not UTF-8 text" in out and "bad.toml" in out, out
