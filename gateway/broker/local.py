"""Run a private mosquitto on a free loopback port with its own temporary configuration.

It is stopped by PID, never by name, so the machine's own broker (if any) is untouched.
"""

from __future__ import annotations

import getpass
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from gateway.broker.localproc import LocalServer


class MosquittoNotFoundError(RuntimeError):
    """mosquitto is not installed."""


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range of source ports for outgoing connections (Linux; else IANA's)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range.

    Why outside: the private servers are stopped and started again on the same port (the
    outage tests, the centre's database outage). While one is down, the kernel may give its
    port to an outgoing connection as the source port, and a client retrying the dead port
    can even connect to itself (TCP simultaneous open); the restart then fails with
    "Address already in use". A port outside the kernel's range is never handed out that way.
    """
    low, high = ephemeral_range()
    spans = [(a, b) for a, b in ((10000, min(low, 65536)), (max(high + 1, 10000), 65536)) if b > a]
    rng = random.SystemRandom()
    for _ in range(200):
        a, b = rng.choice(spans) if spans else (1024, 65536)
        port = rng.randrange(a, b)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (or lingering): try another
            return port
    raise RuntimeError(f"no free TCP port on 127.0.0.1 outside the ephemeral range {low}-{high}")


class LocalMosquitto(LocalServer):
    """A mosquitto process bound to 127.0.0.1; ``start()``/``stop()`` may be repeated.

    The port and the persistence folder survive a stop, so a restart is the same broker
    coming back (as after an outage), with its persistent sessions if ``persistence``.
    """

    def __init__(self, port: int | None = None, persistence: bool = False,
                 extra_conf: str = "", workdir: Path | None = None) -> None:
        exe = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
            None)
        if exe is None:
            raise MosquittoNotFoundError("mosquitto is not installed: run scripts/setup.sh "
                                    "(or `apt-get install mosquitto`)")
        self.exe = exe
        self.port = port or free_port()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="edgepost-mosq-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "mosquitto.log"
        self.conf_path = self.workdir / "mosquitto.conf"
        # `user` stops a root mosquitto from dropping to a user that cannot write workdir;
        # for a non-root user it is ignored.
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"user {getpass.getuser()}",
            f"log_dest file {self.log_path}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "max_queued_messages 0",
            "max_inflight_messages 0",
        ]
        if persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/",
                      "autosave_interval 1"]
        self.conf_path.write_text("\n".join(lines) + "\n" + extra_conf + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> LocalMosquitto:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return self
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited at start ({self.proc.returncode}): {err}"
                                   f"{self.log_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop by PID: SIGTERM (saves persistence), then SIGKILL if it hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def close(self) -> None:
        """Stop and remove the temporary folder."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
