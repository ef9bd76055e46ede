"""Firmware logic and node-link vectors, run on the real MicroPython VM.

Every ``test_*`` function in tests/firmware/mp/mp_test_*.py becomes one pytest test; all of
them run in a single VM process (one start-up, ~0.1 s) through tests/firmware/mp/runner.py.
"""

from __future__ import annotations

import json
import re

import pytest
from fwvm import MP_TESTS, run_mpvm

MODULES = sorted(p.stem for p in MP_TESTS.glob("mp_test_*.py"))
NAMES = [
    f"{m}.{name}"
    for m in MODULES
    for name in re.findall(r"^def (test_\w+)\(", (MP_TESTS / f"{m}.py").read_text(), re.M)
]


@pytest.fixture(scope="module")
def mp_results() -> dict[str, dict]:
    proc = run_mpvm(MP_TESTS / "runner.py", json.dumps(MODULES))
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("MPTEST "):
            rec = json.loads(line[7:])
            results[rec["name"]] = rec
    assert proc.returncode == 0, f"VM run failed:\n{proc.stderr}\n{proc.stdout[-2000:]}"
    return results


def test_all_micropython_tests_ran(mp_results: dict[str, dict]) -> None:
    assert len(NAMES) >= 25
    assert sorted(mp_results) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_on_micropython(name: str, mp_results: dict[str, dict]) -> None:
    rec = mp_results.get(name)
    assert rec is not None, f"{name} did not report (VM crashed before it?)"
    assert rec["ok"], rec.get("error")


def test_vm_is_micropython() -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "probe.py"
        script.write_text("import sys\nprint(sys.implementation.name, sys.platform)\n"
                          "raise ValueError('probe')\n")
        proc = run_mpvm(script)
    assert proc.stdout.split() == ["micropython", "webassembly"]
    # an exception in the script must fail the run (the package's own CLI exits 0)
    assert proc.returncode == 1 and "ValueError: probe" in proc.stderr


def test_bench_cycle_script_runs() -> None:
    """The benchmark's VM script stays working (bench/bench_nodelink.py depends on it)."""
    proc = run_mpvm(MP_TESTS / "bench_cycle.py", "5")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH "))
    res = json.loads(line[6:])
    assert res["n"] == 5 and res["wake_us"] > 0 and res["frame_len"] <= 48
