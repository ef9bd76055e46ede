"""A WAN-like link for benchmarks: a network namespace, a veth pair and a delay relay.

Why in user space: this kernel has no ``netem``, so ``tc qdisc ... netem delay`` is not
available. The benchmark's client runs in its own network namespace and reaches the broker
over a veth pair (a real interface with a 1500-byte MTU, unlike loopback's 64 KiB) through a
TCP relay that holds every chunk it reads for the one-way delay before writing it on, in
each direction. A round trip therefore costs ``2 * one_way_s`` on top of the real stack.

Limits, stated so results are read correctly: the relay adds delay only, no loss and no
bandwidth cap (it buffers without bound); TCP's own ACKs between the client and the relay
are not delayed, so the client's congestion window opens as on a fast link. That is the
situation the uplink's in-flight window is about: a latency-bound link, not a thin one.

Needs root (``ip netns``, ``ip link``). Use as a context manager::

    with NetNamespace() as ns, DelayRelay(ns.host_ip, ("127.0.0.1", port), 0.025) as relay:
        subprocess.run(ns.command(["python", "client.py", ns.host_ip, str(relay.port)]))
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import threading
import time
from types import TracebackType

CHUNK = 65536


class NetDelayError(RuntimeError):
    """The namespace or the veth pair could not be set up (not root, no ``ip``)."""


class NetNamespace:
    """A network namespace joined to this one by a veth pair with a /30 of its own."""

    def __init__(self, tag: str | None = None) -> None:
        tag = tag or str(os.getpid() % 100_000)
        self.name = f"epbench{tag}"
        self.host_if, self.ns_if = f"epb{tag}h", f"epb{tag}n"  # at most 15 characters
        octet = os.getpid() % 250 + 1  # a subnet per benchmark process
        self.host_ip, self.ns_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"

    def __enter__(self) -> NetNamespace:
        steps = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if],
            ["ip", "link", "set", self.ns_if, "netns", self.name],
            ["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if],
            ["ip", "link", "set", self.host_if, "up"],
            ["ip", "netns", "exec", self.name, "ip", "addr", "add", f"{self.ns_ip}/30",
             "dev", self.ns_if],
            ["ip", "netns", "exec", self.name, "ip", "link", "set", self.ns_if, "up"],
            ["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                self.__exit__(None, None, None)
                raise NetDelayError(f"`{' '.join(step)}` failed: {done.stderr.strip()} - the "
                                    "WAN benchmark needs root and iproute2 (`ip`)")
        return self

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped to run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Deleting the namespace removes its end of the veth pair, and with it the other.
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)


class DelayRelay:
    """Accepts TCP connections on ``listen_ip`` and relays each to ``target``, delaying every
    chunk by ``one_way_s`` in both directions (order kept: the delay is constant)."""

    def __init__(self, listen_ip: str, target: tuple[str, int], one_way_s: float) -> None:
        self.target = target
        self.one_way_s = one_way_s
        self._server = socket.create_server((listen_ip, 0))
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="relay-accept", daemon=True)

    def __enter__(self) -> DelayRelay:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._server.close()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                # The relay must not add Nagle delays of its own on top of the set delay.
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._socks.append(s)
            self._pipe(client, upstream)
            self._pipe(upstream, client)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        held: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def reader() -> None:
            try:
                while data := src.recv(CHUNK):
                    held.put((time.monotonic() + self.one_way_s, data))
            except OSError:
                pass
            held.put((0.0, b""))  # end of stream, after everything read before it

        def writer() -> None:
            try:
                while True:
                    due, data = held.get()
                    if not data:
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)  # this is the link's delay itself
                    dst.sendall(data)
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=reader, daemon=True, name="relay-read").start()
        threading.Thread(target=writer, daemon=True, name="relay-write").start()
