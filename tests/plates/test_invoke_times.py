"""bench/invoke_times.py (interleaved ms per invoke) and tools/plates/float_twin.py's refusals."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from gateway.plates.recognizer import DEFAULT_RECOGNIZER

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_times_each_model_with_its_input_and_the_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load(REPO / "bench" / "invoke_times.py", "invoke_times")
    assert bench.main(["--repeats", "3", str(DEFAULT_RECOGNIZER), str(DEFAULT_RECOGNIZER)]) == 0
    out = capsys.readouterr().out
    assert "- machine: " in out and "3 repeats" in out
    rows = re.findall(r"^\| (\S+) \| int8 1x32x96x3 \| ([\d.]+) \(([\d.]+)-([\d.]+)\) \|$", out, re.M)
    assert len(rows) == 2 and all(r[0] == str(DEFAULT_RECOGNIZER) for r in rows)
    for _, median, low, high in rows:
        assert 0 < float(low) <= float(median) <= float(high)


def test_fewer_than_three_repeats_refused() -> None:
    bench = _load(REPO / "bench" / "invoke_times.py", "invoke_times")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeats", "2"])
    assert exc.value.code == 2


def test_missing_model_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load(REPO / "bench" / "invoke_times.py", "invoke_times")
    assert bench.main([str(tmp_path / "none.tflite")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_float_twin_refuses_before_needing_tensorflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the export itself needs the training extra (TensorFlow); its arguments are checked first
    tool = _load(REPO / "tools" / "plates" / "float_twin.py", "float_twin")
    assert tool.main([]) == 2
    assert "float_twin.py INT8.tflite OUT.tflite" in capsys.readouterr().err
    assert tool.main([str(tmp_path / "none.tflite"), str(tmp_path / "out.tflite")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "out.tflite").exists()
