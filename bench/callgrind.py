"""Instructions a child Python run executes under ``valgrind --tool=callgrind``.

Why: valgrind's virtual CPU has AVX2 and no AVX-512, so XNNPACK and ONNX Runtime take the
kernels an AVX2-only host takes whatever this host has; the bench scripts that estimate such a
host (frame_instructions.py, invoke_instructions.py) count through this one helper.
"""

from __future__ import annotations

import re
import subprocess
import sys


def instructions(script: str, args: list[str], out_file: str = "/dev/null") -> int:
    """Instructions callgrind collected for ``python script *args``."""
    log = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", sys.executable, script, *args],
        capture_output=True, text=True, check=True,
    ).stderr
    m = re.search(r"Collected : (\d+)", log)
    if m is None:
        raise SystemExit(f"no instruction count from valgrind for {script} {' '.join(args)}:\n{log[-2000:]}")
    return int(m.group(1))
