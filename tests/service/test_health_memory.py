"""Health reports the process's memory as it is now and at its peak (issue 16)."""

from __future__ import annotations

from pathlib import Path

from gateway.service.health import memory_mb, system_facts


def test_current_rss_falls_back_while_the_peak_stays(tmp_path: Path) -> None:
    _, peak_before = memory_mb()
    block = bytearray(80 * 1024 * 1024)  # large: its own mmap, returned to the OS when freed
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page so it is resident
    during, peak_during = memory_mb()
    del block
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
