"""Node-link benchmark: gateway decode rate, bytes per frame type, MicroPython wake cycle.

usage: .venv/bin/python bench/bench_nodelink.py [--frames N] [--write]

--write stores the results (with date, machine and command) in bench/results/nodelink.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_name  # noqa: E402
from gateway.sensors import frames  # noqa: E402
from gateway.sensors.keys import NodeKeyRegistry  # noqa: E402
from gateway.sensors.nodelink import NodeLinkDecoder  # noqa: E402

KEY = bytes(range(32))


def sample_frames(n: int) -> list[bytes]:
    """A realistic mix: 70 % 4-reading reports, 25 % single alarms, 5 % status, 50 nodes."""
    rng = random.Random(7)
    out = []
    seqs = dict.fromkeys(range(1, 51), 0)
    for _ in range(n):
        node = rng.randint(1, 50)
        seqs[node] += 1
        r = rng.random()
        if r < 0.70:
            t, p = 1, frames.readings_payload([(1, rng.randint(-2000, 4000)), (2, 3700),
                                               (3, rng.randint(0, 3000)), (4, 5000)])
        elif r < 0.95:
            t, p = 2, frames.alarm_payload([(rng.randint(1, 8), True, 1)])
        else:
            t, p = 3, frames.status_payload(2, 0, 1, 0)
        out.append(frames.build_frame(t, node, seqs[node], p, KEY))
    return out


def bench_decode(n: int, repeats: int = 5) -> dict[str, float]:
    """Frames/s through NodeLinkDecoder.feed on one core, clean stream and 50 % garbage:
    the two streams interleaved ``repeats`` times; median, min and max of each."""
    reg = NodeKeyRegistry({i: (KEY, None) for i in range(1, 51)})
    wire = sample_frames(n)
    clean = b"".join(wire)
    rng = random.Random(3)
    noisy = b"".join(w + rng.randbytes(len(w)) for w in wire)
    res = {}
    warm = NodeLinkDecoder(reg)
    warm.feed(noisy[: len(noisy) // 10])  # warm caches and allocator before timing
    secs: dict[str, list[float]] = {"clean": [], "noisy": []}
    for r in range(repeats):
        # Interleaved (and the order alternates) so drift on a shared machine hits both.
        order = (("clean", clean), ("noisy", noisy))
        for name, stream in order if r % 2 == 0 else order[::-1]:
            dec = NodeLinkDecoder(reg, lambda r: None, lambda r: None, lambda r: None)
            t0 = time.perf_counter()
            for i in range(0, len(stream), 4096):
                dec.feed(stream[i:i + 4096])
            secs[name].append(time.perf_counter() - t0)
            assert dec.stats()["frames_ok"] == n, (name, dec.stats())
    for name, stream in (("clean", clean), ("noisy", noisy)):
        rates = [n / t for t in secs[name]]
        res[f"{name}_frames_per_s"] = statistics.median(rates)
        res[f"{name}_min"], res[f"{name}_max"] = min(rates), max(rates)
        res[f"{name}_mb_per_s"] = len(stream) / statistics.median(secs[name]) / 1e6
    res["repeats"] = repeats
    return res


def frame_sizes() -> list[tuple[str, int]]:
    """Wire bytes (both 0x00 delimiters included) per message type."""
    f = frames
    cases = [
        ("ALARM, 1 alarm", f.build_frame(2, 65534, 2**32 - 1, f.alarm_payload([(1, True, 1)]),
                                         KEY)),
        ("ALARM, 4 alarms", f.build_frame(2, 65534, 2**32 - 1,
                                          f.alarm_payload([(k, True, 1000) for k in range(1, 5)]),
                                          KEY)),
        ("STATUS", f.build_frame(3, 65534, 2**32 - 1, f.status_payload(1, 3, 1, 0), KEY)),
    ]
    for n in (1, 4, 8, 12):
        cases.append((f"READINGS, {n} value{'s' if n > 1 else ''}" + (" (typical)" if n == 4 else ""),
                      f.build_frame(1, 65534, 2**32 - 1,
                                    f.readings_payload([(q % 10 + 1, -1234) for q in range(n)]),
                                    KEY)))
    return [(name, len(w)) for name, w in cases]


def bench_micropython(n: int) -> dict[str, float]:
    """Median µs per wake-cycle step on the MicroPython WebAssembly VM under Node.js."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node not found: run scripts/setup.sh")
    mp = ROOT / "tests" / "firmware" / "mp"
    cmd = [node, str(ROOT / "firmware" / "tools" / "mpvm.mjs"), "--mount", f"{mp}:/t",
           "--arg", str(n), str(mp / "bench_cycle.py")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          cwd=ROOT / "firmware")
    if proc.returncode:
        raise SystemExit(proc.stderr)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH "))
    return json.loads(line[6:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50_000)
    ap.add_argument("--mp-iterations", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5, help="decode runs per stream (>= 3)")
    ap.add_argument("--write", action="store_true", help="write bench/results/nodelink.md")
    args = ap.parse_args()
    # The decoder logs the first rejection of each kind; the noisy run would print them.
    logging.getLogger("gateway.sensors").setLevel(logging.ERROR)

    dec = bench_decode(args.frames, args.repeats)
    sizes = frame_sizes()
    mp = bench_micropython(args.mp_iterations)
    node_v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Node-link benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- Machine: {cpu_name()}, `{uname}`, nproc={os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"Node.js {node_v}, MicroPython 1.27.0 (WebAssembly)",
        f"- Command: `.venv/bin/python bench/bench_nodelink.py{' --write' if args.write else ''}`"
        f" (frames={args.frames}, mp-iterations={args.mp_iterations}, repeats={args.repeats})",
        "",
        f"## Gateway decode (one thread, `NodeLinkDecoder.feed`, 4 KiB chunks, "
        f"{dec['repeats']} interleaved runs per stream)",
        "",
        "| stream | frames/s median | min | max | MB/s (median) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| clean (70 % readings, 25 % alarms, 5 % status, 50 nodes) | "
        f"{dec['clean_frames_per_s']:,.0f} | {dec['clean_min']:,.0f} | {dec['clean_max']:,.0f} | "
        f"{dec['clean_mb_per_s']:.2f} |",
        f"| same frames, each followed by as many random bytes | "
        f"{dec['noisy_frames_per_s']:,.0f} | {dec['noisy_min']:,.0f} | {dec['noisy_max']:,.0f} | "
        f"{dec['noisy_mb_per_s']:.2f} |",
        "",
        "Each accepted frame costs a COBS decode, a CRC-16, an HMAC-SHA256 and the record "
        "callbacks; a LoRa-class link delivers a few frames per second, so one core has "
        "headroom of several orders of magnitude. The build VM is shared (2 cores, other "
        "jobs running): repeated runs differ by up to about 30 %.",
        "",
        "## Bytes on the wire per message type (0x00 delimiters included)",
        "",
        "| message | bytes | budget |",
        "| --- | ---: | --- |",
    ]
    for name, n in sizes:
        budget = "<= 32" if name == "ALARM, 1 alarm" else ("<= 48" if "typical" in name else "")
        lines.append(f"| {name} | {n} | {budget} |")
    lines += [
        "",
        f"## MicroPython wake cycle (median of {mp['n']}, µs, WebAssembly VM on this machine)",
        "",
        "| step | µs |",
        "| --- | ---: |",
        f"| read 5 sensors (3 samples each, test board) | {mp['read_us']} |",
        f"| encode (payload, header, CRC-16, COBS) | {mp['encode_us']} |",
        f"| HMAC-SHA256 tag | {mp['tag_us']} |",
        f"| whole wake: boot, config, read, decide, encode, tag, send, save state | "
        f"{mp['wake_us']} |",
        "",
        "The VM runs MicroPython's bytecode interpreter compiled to WebAssembly; on an ESP32 "
        "(240 MHz) expect the pure-Python parts several times slower, while `hashlib.sha256` "
        "is hardware-accelerated there. Either way the cycle's CPU time is far below the "
        "radio's airtime for the frame.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        out = ROOT / "bench" / "results" / "nodelink.md"
        out.write_text(text)
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
