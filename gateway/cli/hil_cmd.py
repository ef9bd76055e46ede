"""``edgepost hil``: run the hardware-in-the-loop suite against a rig description."""

from __future__ import annotations

import argparse
import os
import sys
import time
import xml.etree.ElementTree as ET
from importlib.util import find_spec
from pathlib import Path

from gateway.cli.groups import command_group


def _suite_dir() -> Path:
    """The suite ships in the wheel as the ``hil_tests`` package (a checkout has it at its root)."""
    spec = find_spec("hil_tests")
    if spec is None or not spec.submodule_search_locations:
        # Not installed (an old editable install): the checkout this package sits in.
        return Path(__file__).resolve().parents[2] / "hil_tests"
    return Path(next(iter(spec.submodule_search_locations)))


SUITE = _suite_dir()
REPO = SUITE.parent  # the folder hil_tests is imported from
DEFAULT_RIG = SUITE / "rigs" / "simulated.toml"
PLATES_MARK = "needs_plates"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``hil run`` and ``hil check-rig``."""
    _, hsub = command_group(sub, "hil", "run the hardware-in-the-loop suite on a rig",
                            "Hardware-in-the-loop scenarios against a rig described in "
                            "a TOML file (see docs/hil.md). The simulated rig runs on any Linux box.")

    run = hsub.add_parser(
        "run", help="run the scenarios and print a report",
        description="Run every scenario of hil_tests/ against the rig, print pass/fail and "
        "time per scenario, and write JUnit XML. Scenarios marked needs_plates need a camera "
        "or stimulus with readable plates; --skip-plates deselects them on a rig without one. "
        "Exit status: 0 all passed, 1 a scenario failed, 4 the rig file is invalid.")
    run.add_argument("--rig", type=Path, default=DEFAULT_RIG,
                     help="rig description (default: the simulated rig shipped in hil_tests/rigs)")
    run.add_argument("--junitxml", type=Path, default=Path("hil-report.xml"),
                     help="where to write the JUnit XML report (default hil-report.xml)")
    run.add_argument("-k", dest="keyword", default=None, help="only scenarios matching (pytest -k)")
    run.add_argument("--skip-plates", action="store_true",
                     help="deselect needs_plates scenarios (reported as deselected)")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    run.set_defaults(func=cmd_run)

    check = hsub.add_parser("check-rig", help="validate a rig description file",
                            description="Validate FILE against the rig model; exit 0 if valid, 4 if not.")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_check_rig)


def _suite_on_path() -> bool:
    """Make ``hil_tests`` importable by the pytest run (it is a package of the wheel)."""
    if not (SUITE / "conftest.py").is_file():
        print(f"edgepost: the HIL suite is incomplete at {SUITE}: reinstall edgepost",
              file=sys.stderr)
        return False
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return True


def cmd_check_rig(args: argparse.Namespace) -> int:
    if not _suite_on_path():
        return 4
    from hil_tests.rig.model import RigFileError, load_rig

    try:
        spec = load_rig(args.file)
    except RigFileError as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return 4
    kind = "simulated" if spec.simulated else "real"
    print(f"{args.file}: valid ({kind} rig {spec.rig.name!r}: {len(spec.nodes)} node(s), "
          f"{len(spec.cameras)} camera(s), broker {spec.broker.kind}, gateway {spec.gateway.kind})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    if not _suite_on_path():
        return 4
    from hil_tests.rig.model import RigFileError, load_rig

    rig = args.rig.resolve()
    try:
        spec = load_rig(rig)
    except RigFileError as exc:
        print(f"edgepost: {exc}", file=sys.stderr)
        return 4
    junit = args.junitxml.resolve()
    pargs = [str(SUITE), f"--rig={rig}", f"--junitxml={junit}", "-o", "junit_family=xunit1",
             "-q", "-p", "no:cacheprovider", "-rfE",
             f"--hil-plates={'deselect' if args.skip_plates else 'run'}"]
    if args.keyword:
        pargs += ["-k", args.keyword]
    pargs += args.pytest_args
    print(f"# hil: rig {spec.rig.name!r} ({rig}), JUnit XML -> {junit}", flush=True)
    os.environ.setdefault("PYTHONPATH", str(REPO))
    t0 = time.monotonic()
    rc = pytest.main(pargs)
    wall = time.monotonic() - t0
    if not junit.is_file():
        print("edgepost: the suite did not run (no report written)", file=sys.stderr)
        return 1 if rc else 0
    print(report(junit, spec.rig.name, wall, args.skip_plates))
    return 0 if rc == 0 else 4 if rc == 4 else 1


def _plate_tests() -> set[str]:
    """Names of the scenarios marked needs_plates (found in the source, no import needed)."""
    out = set()
    for f in SUITE.glob("test_*.py"):
        text = f.read_text()
        if f"mark.{PLATES_MARK}" in text:
            for line in text.splitlines():
                if line.startswith("def test_"):
                    out.add(line[4:line.index("(")])
    return out


def report(junit: Path, rig: str, wall: float, skipped_plates: bool) -> str:
    """The readable report: one line per scenario with its verdict and time."""
    root = ET.parse(junit).getroot()
    plates = _plate_tests()
    rows = []
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        secs = float(case.get("time", 0))
        fail = case.find("failure")
        if fail is None:
            fail = case.find("error")
        skip = case.find("skipped")
        if fail is not None:
            verdict = "FAIL"
            why = (fail.get("message") or "").splitlines()[0][:150]
        elif skip is not None:
            verdict, why = "SKIP", (skip.get("message") or "")[:150]
        else:
            verdict, why = "PASS", ""
        counts[verdict] += 1
        rows.append(f"  {verdict:<8} {secs:7.1f} s  {case.get('classname', '').split('.')[-1]}::{name}"
                    + (f"\n{'':21}{why}" if why else ""))
    lines = ["", f"HIL report: rig {rig!r}, {len(rows)} scenario(s), wall {wall:.1f} s", *rows]
    if skipped_plates:
        lines.append(f"  DESELECTED: {', '.join(sorted(plates))} ({PLATES_MARK}: --skip-plates)")
    lines.append("  " + ", ".join(f"{k.lower()}: {v}" for k, v in counts.items()))
    return "\n".join(lines)
