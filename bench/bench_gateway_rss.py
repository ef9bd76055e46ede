"""Peak memory of the real gateway process, measured from outside.

    .venv/bin/python bench/bench_gateway_rss.py [--duration 300] [--repeats 3] [--write]
        [--scenarios one,two,plates] [--env-variants]

Each scenario writes a gateway configuration, starts ``edgepost gateway run -c FILE
--duration D`` (the real command, as systemd starts it) against a private mosquitto, and
reads ``/proc/<pid>/status`` every 0.5 s: ``VmHWM`` (the kernel's peak RSS of the process)
and ``VmRSS``. The cameras play the sample videos at their real frame rate (``pacing =
"realtime"``, looped), so the decode thread, motion gate, detector, tracker, spool and
uplink all run as on a site; everything else is the defaults a site gets (no web page,
no clips, no live viewer).

Scenarios (all run side by side in each repeat, so machine load hits them alike):
  one     one camera, person video, COCO SSD          (target: peak <= 150 MB)
  two     two cameras, both videos
  plates  one camera, car video, plate reading on vehicle tracks
  clips   one camera with evidence clips on (the ring of recent frames)
  web     one camera with the gateway page on and a technician's browser on it (a client that
          logs in and polls as the page does: a live snapshot every second, status, events
          and plates every two seconds)
With ``--env-variants`` the one-camera case also runs with glibc's default malloc arenas
(``MALLOC_ARENA_MAX=0``) beside the shipped cap of 2, to show what the cap buys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.machine import cpu_name  # noqa: E402
from gateway.broker import LocalMosquitto, free_port  # noqa: E402

SSD = "models/coco_ssd_mobilenet_v1"
PERSON = "media/video/one-by-one-person-detection.mp4"
CARS = "media/video/car-detection.mp4"
CAR_ALIASES = '{"cell phone" = "car", suitcase = "car", "parking meter" = "car"}'
TARGET_MB = 150.0
VIEWER = ("technician", "bench-only-password")


def shared_dir() -> Path:
    return Path(os.environ.get("EDGEPOST_SHARED") or REPO.parent / "shared")


def camera_toml(name: str, video: Path, classes: str, extra: str = "") -> str:
    shared = shared_dir()
    return f"""
[cameras.{name}.source]
uri = "{video}"
pacing = "realtime"
loop = true

[cameras.{name}.detector]
model = "{shared / SSD / 'detect.tflite'}"
labels = "{shared / SSD / 'labelmap.txt'}"
min_score = 0.5

[cameras.{name}.rules]
classes = [{classes}]
{extra}"""


def web_toml(workdir: Path, port: int) -> str:
    """The page on, on loopback, with one login (hashed as `edgepost provision gateway` does)."""
    from gateway.web.users import render_users
    from webkit.auth import hash_password

    users = workdir / "web-users.toml"
    login = {"hash": hash_password(VIEWER[1], "gateway"), "role": "viewer"}
    users.write_text(render_users({VIEWER[0]: login}))
    return f"""
[web]
enabled = true
port = {port}
users_file = "{users}"
"""


def browse(base: str, camera: str, stop: threading.Event) -> None:
    """What the gateway page's script does in a browser, until ``stop``."""
    import httpx

    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():  # the gateway is starting: wait for its page
            try:
                csrf = client.get("/api/v1/session").json()["csrf"]
                break
            except httpx.TransportError:
                stop.wait(0.5)
        else:
            return
        r = client.post("/api/v1/login", json={"name": VIEWER[0], "password": VIEWER[1]},
                        headers={"X-CSRF-Token": csrf})
        r.raise_for_status()
        tick = 0
        while not stop.wait(1.0):
            tick += 1
            try:
                client.get(f"/api/v1/cameras/{camera}/snapshot")
                if tick % 2 == 0:
                    for path in ("/api/v1/status", "/api/v1/events?limit=50", "/api/v1/plates?limit=50"):
                        client.get(path)
            except httpx.TransportError:
                return  # the gateway's run is over (--duration): so is the visit


def config_toml(scenario: str, port: int, workdir: Path, web_port: int = 0) -> str:
    shared = shared_dir()
    head = f"""[device]
id = "gw-rss-{scenario}"

[mqtt]
port = {port}

[spool]
path = "{workdir / f'spool-{scenario}.sqlite3'}"

[demo]
enabled = false
"""
    person = camera_toml("gate", shared / PERSON, '"person"')
    if scenario == "one":
        return head + person
    if scenario == "two":
        return head + person + camera_toml("lane", shared / CARS, '"car"',
                                           f"class_aliases = {CAR_ALIASES}\n")
    if scenario == "clips":
        return head + person + "\n[cameras.gate.clips]\nenabled = true\n"
    if scenario == "web":
        return head + web_toml(workdir, web_port) + person
    if scenario == "plates":
        return head + camera_toml("lane", shared / CARS, '"car"',
                                  f"class_aliases = {CAR_ALIASES}\n\n[cameras.lane.plates]\n"
                                  "enabled = true\n")
    raise ValueError(scenario)


def status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


@dataclass
class Run:
    """One gateway process under observation."""

    label: str
    proc: subprocess.Popen[bytes]
    log: Path
    hwm_kb: int = 0
    rss_kb: list[int] = field(default_factory=list)

    def sample(self) -> None:
        st = status_kb(self.proc.pid)
        if st:
            self.hwm_kb = max(self.hwm_kb, st.get("VmHWM", 0))
            self.rss_kb.append(st.get("VmRSS", 0))


def start(label: str, cfg: Path, duration: float, workdir: Path,
          env_changes: dict[str, str | None], tree: Path | None = None) -> Run:
    """Start ``edgepost gateway run``; with ``tree``, the gateway code of that checkout."""
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    log = workdir / f"{label.replace(' ', '_').replace('/', '_')}.log"
    exe = Path(sys.executable).with_name("edgepost")
    argv = [str(exe)] if exe.exists() and tree is None else [sys.executable, "-m", "gateway"]
    if tree is not None:  # ahead of the editable install on sys.path: that tree's code runs
        env["PYTHONPATH"] = str(tree)
    proc = subprocess.Popen([*argv, "gateway", "run", "-c", str(cfg), "--duration",
                             str(duration)], cwd=tree or REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"))
    return Run(label, proc, log)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenarios", default="one,two,plates,clips")
    ap.add_argument("--env-variants", action="store_true",
                    help="also run one camera with glibc's default malloc arenas")
    ap.add_argument("--baseline-tree", type=Path, default=None,
                    help="also run one camera with the code of this checkout (e.g. a `git worktree` "
                         "of an older commit), same venv, side by side")
    ap.add_argument("--write", action="store_true", help="write bench/results/gateway_rss.md")
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    labels = {"one": "one camera", "two": "two cameras", "plates": "one camera + plates",
              "clips": "one camera + clips", "web": "one camera + page + browser"}
    sides: list[tuple[str, str, dict[str, str | None], Path | None]] = [
        (labels[s], s, {}, None) for s in scenarios]
    if args.env_variants:
        # 0 is glibc's "not set" (up to 8 arenas per core); the gateway leaves an explicit
        # value alone, so this runs it with glibc's default arenas.
        sides.append(("one camera, glibc default arenas", "one", {"MALLOC_ARENA_MAX": "0"}, None))
    if args.baseline_tree is not None:
        sides.append((f"one camera, code of {args.baseline_tree.name}", "one", {},
                      args.baseline_tree.resolve()))
    peaks: dict[str, list[float]] = {label: [] for label, _, _, _ in sides}
    ends: dict[str, list[float]] = {label: [] for label, _, _, _ in sides}
    with LocalMosquitto(extra_conf="set_tcp_nodelay true") as broker, \
            tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for r in range(args.repeats):
            runs = []
            stop = threading.Event()
            browsers = []
            for label, scenario, env, tree in sides:
                sub = work / f"r{r}-{len(runs)}"
                sub.mkdir()
                cfg = sub / "gateway.toml"
                web_port = free_port() if scenario == "web" else 0
                cfg.write_text(config_toml(scenario, broker.port, sub, web_port))
                runs.append(start(label, cfg, args.duration, sub, env, tree))
                if scenario == "web":
                    browsers.append(threading.Thread(
                        target=browse, args=(f"http://127.0.0.1:{web_port}", "gate", stop), daemon=True))
                    browsers[-1].start()
            while any(run.proc.poll() is None for run in runs):
                for run in runs:
                    if run.proc.poll() is None:
                        run.sample()
                time.sleep(0.5)  # the sampling period
            stop.set()
            for b in browsers:
                b.join()
            for run in runs:
                if run.proc.returncode != 0 or not run.rss_kb:
                    raise RuntimeError(f"{run.label}: gateway exited {run.proc.returncode}: "
                                       f"{run.log.read_text()[-3000:]}")
                peaks[run.label].append(run.hwm_kb / 1024)
                ends[run.label].append(run.rss_kb[-1] / 1024)
            print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{run.label} peak {run.hwm_kb / 1024:.1f} MB" for run in runs), flush=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [f"| {label} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} | "
            f"{statistics.median(ends[label]):.1f} |" for label, v in peaks.items()]
    one = peaks.get(labels["one"])
    verdict = (f"**one camera: peak {statistics.median(one):.1f} MB** (target <= {TARGET_MB:.0f})"
               if one else "")
    text = "\n".join([
        "# Gateway memory (peak RSS of `edgepost gateway run`, from /proc/<pid>/status)", "",
        f"- date: {now}; command: `.venv/bin/python bench/bench_gateway_rss.py --duration "
        f"{args.duration:g} --repeats {args.repeats}`",
        f"- machine: {platform.machine()}, {cpu_name()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f} at the end",
        f"- {args.duration:g} s per run, sample videos at their real frame rate (looped), "
        "defaults otherwise (web page and clips off unless named); scenarios side by side in each repeat",
        "",
        "| scenario | peak VmHWM MB median | min | max | VmRSS at the end MB |",
        "|---|---|---|---|---|", *rows, "", verdict, ""])
    print("\n" + text)
    if args.write:
        (REPO / "bench/results/gateway_rss.md").write_text(text + "\n", encoding="utf-8")
    return 0 if not one or statistics.median(one) <= TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
