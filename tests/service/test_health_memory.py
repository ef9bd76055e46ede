"""Health reports the process's memory as it is now and at its peak (issue 16)."""

from __future__ import annotations

import mmap
from pathlib import Path

from gateway.service.health import memory_mb, system_facts


def test_current_rss_falls_back_while_the_peak_stays(tmp_path: Path) -> None:
    _, peak_before = memory_mb()
    # An anonymous mapping of its own, unmapped when closed: a bytearray would depend on
    # glibc choosing mmap for it, which other code in the same process (a library's mallopt,
    # a heap with enough free, resident space) can change (seen once in a full CI run).
    block = mmap.mmap(-1, 80 * 1024 * 1024)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page so it is resident
    during, peak_during = memory_mb()
    block.close()
    after, peak_after = memory_mb()
    assert during is not None and after is not None
    assert peak_during >= peak_before and peak_during >= during >= 70
    # The kernel folds per-thread RSS counters in lazily: allow it a fraction of a MB.
    assert peak_after >= peak_during - 1, "the peak is a high-water mark"
    assert after <= during - 60, f"current RSS {after} MB did not fall after freeing 80 MB"
    facts = system_facts(tmp_path)
    assert facts["rss_peak_mb"] >= peak_after
    assert facts["rss_mb"] < facts["rss_peak_mb"]


def test_status_file_is_read_as_the_kernel_writes_it(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tedgepost\nVmHWM:\t  153600 kB\nVmRSS:\t  102400 kB\n")
    assert memory_mb(status) == (100.0, 150.0)
    missing = memory_mb(tmp_path / "nowhere")
    assert missing[0] is None and missing[1] > 0  # getrusage still knows the peak


ARENA_PROBE = """
import ctypes, sys, threading
sys.path.insert(0, {repo!r})
from gateway.service.health import limit_malloc_arenas
applied = limit_malloc_arenas() if sys.argv[1] == "limit" else False
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
gate = threading.Barrier(6)

def work():
    gate.wait()  # all alive at once: each new allocating thread asks glibc for an arena
    libc.free(libc.malloc(4096))

threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
print(applied, flush=True)
libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def arenas(mode: str) -> tuple[str, int]:
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {k: v for k, v in __import__("os").environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", ARENA_PROBE.format(repo=str(REPO)), mode],
                          capture_output=True, text=True, check=True, env=env)
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_malloc_arenas_are_capped_for_the_gateways_threads() -> None:
    applied, capped = arenas("limit")
    _, free = arenas("none")
    assert applied == "True"
    assert capped <= 2, f"{capped} arenas despite the cap"
    assert free > capped, f"without the cap glibc made {free} arenas (the probe proves nothing)"
