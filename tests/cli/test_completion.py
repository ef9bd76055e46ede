"""``edgepost completion bash``: the script, loaded into a real bash, completes the commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def complete(script: Path, line: str) -> list[str]:
    """COMPREPLY of the edgepost completion function for ``line`` (the cursor at its end)."""
    words = line.split(" ")
    program = (f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
               f"COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; "
               "_shtab_edgepost; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=20,
                         check=True).stdout
    return sorted(w for w in out.split("\n") if w)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_knows_the_commands(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "gateway", "completion", "bash"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    script = tmp_path / "edgepost.bash"
    script.write_text(res.stdout, encoding="utf-8")
    assert complete(script, "edgepost pla") == ["plates"]
    assert complete(script, "edgepost plates ") == ["compile-watchlist", "keygen", "read"]
    assert complete(script, "edgepost gateway check") == ["check-config"]
    assert "--json" in complete(script, "edgepost plates read --")
    assert complete(script, "edgepost completion ") == ["bash", "tcsh", "zsh"]


@pytest.mark.parametrize("shell", ["zsh", "tcsh"])
def test_other_shells_get_a_script(shell: str) -> None:
    res = subprocess.run([sys.executable, "-m", "gateway", "completion", shell], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "compile-watchlist" in res.stdout
