"""tools/plates/count_macs.py: multiply-adds counted from a TFLite graph."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gateway.plates.charset import NUM_CLASSES
from gateway.plates.recognizer import DEFAULT_RECOGNIZER

TOOL = Path(__file__).resolve().parents[2] / "tools" / "plates" / "count_macs.py"


def _tool():
    spec = importlib.util.spec_from_file_location("count_macs", TOOL)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _conv(h: int, w: int, out: int, kh: int, kw: int, inp: int) -> int:
    return h * w * out * kh * kw * inp


def test_recognizer_counted_as_its_architecture() -> None:
    # s6 (models/plates/train_recognizer.build_model): output size x output channels x kernel x
    # input channels for every convolution, the global-context projection and the logits
    expected = (
        _conv(32, 96, 32, 3, 3, 3)
        + _conv(16, 48, 64, 3, 3, 32)
        + _conv(8, 24, 96, 3, 3, 64)
        + _conv(8, 24, 96, 3, 3, 96)
        + _conv(4, 24, 128, 3, 3, 96)
        + _conv(1, 24, 128, 4, 1, 128)
        + _conv(1, 24, 128, 1, 5, 128)
        + _conv(1, 1, 128, 1, 1, 128)
        + _conv(1, 24, NUM_CLASSES, 1, 1, 128)
    )
    assert sum(_tool().count_macs(DEFAULT_RECOGNIZER).values()) == expected


def test_no_model_given_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main([]) == 2
    assert "count_macs.py MODEL.tflite" in capsys.readouterr().err


def test_not_a_model_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    assert _tool().main([str(junk)]) == 1
    assert "not a readable TFLite model" in capsys.readouterr().err
