"""Failed logins slowed down per client address, so a page cannot be guessed at without end.

Why: a password is checked with argon2 (tens of milliseconds) and checks run one at a time
(:mod:`webkit.auth`), so without a limit one client could try about a million passwords a day
against a gateway or the centre, and while it does, every real login waits behind its guesses.
After ``free`` failed attempts from one address, that address waits before its next attempt: 2 s,
then twice as long after each further failure, up to 15 minutes. A successful login clears it.
While it waits, its attempts are answered 429 with ``Retry-After`` and cost no hash.

Choices: the limit is per address, never per account: locking an account would let anyone lock
the district's admin out. IPv6 clients are grouped by their /64 (one host holds a whole /64), so
changing address inside it does not reset the count. An attempt counts towards the wait when it
starts and is cleared when it succeeds, so a burst of parallel guesses is held to ``free`` too.
At most ``size`` addresses are remembered (the oldest forgotten first), so a flood of addresses
costs bounded memory. Behind a reverse proxy the address is the proxy's unless the server trusts
its forwarded header (uvicorn's ``forwarded_allow_ips``).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


def client_key(host: str | None) -> str:
    """The address a limit applies to: an IPv4 address as is, an IPv6 address's /64 network."""
    if not host:
        return "unknown"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client, a unix socket): its name
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def request_key(request: HTTPConnection) -> str:
    """:func:`client_key` of the address a request came from (every login point uses this)."""
    return client_key(request.client.host if request.client else None)


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no attempt before this (monotonic seconds)


class LoginThrottle:
    """Counts failed logins per client address and says how long an address must wait."""

    def __init__(self, free: int = 5, first_wait_s: float = 2.0, max_wait_s: float = 900.0,
                 forget_s: float = 86_400.0, size: int = 4096,
                 count: Callable[[str], None] | None = None) -> None:
        """``count(name)`` is called with ``login_failed`` or ``login_refused`` for each such
        attempt (a gateway's health counters); :meth:`snapshot` has the same totals."""
        self.free, self.first_wait_s, self.max_wait_s = free, first_wait_s, max_wait_s
        self.forget_s, self.size = forget_s, size
        self._count = count
        self._totals = {"login_failed": 0, "login_refused": 0}
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, key: str, now: float | None = None) -> float:
        """Start a login attempt from ``key``: 0.0 when it may go on (it counts as failed until
        :meth:`succeeded`), else the seconds it must still wait (it is refused and not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            rec = self._records.get(key)
            if rec is not None and now - rec.last > self.forget_s and now >= rec.until:
                rec = None  # a day without attempts: start afresh
            if rec is not None and now < rec.until:
                self._bump("login_refused")
                return rec.until - now
            rec = rec or _Record()
            rec.failures += 1
            rec.last = now
            if rec.failures >= self.free:
                rec.until = now + min(self.max_wait_s,
                                      self.first_wait_s * 2.0 ** (rec.failures - self.free))
            self._records[key] = rec
            self._records.move_to_end(key)
            while len(self._records) > self.size:
                self._records.popitem(last=False)
            return 0.0

    def succeeded(self, key: str) -> None:
        """The attempt from ``key`` logged in: its failures are forgotten."""
        with self._lock:
            self._records.pop(key, None)

    def failed(self, key: str) -> None:
        """The attempt from ``key`` did not log in (it already counts towards the wait)."""
        with self._lock:
            self._bump("login_failed")

    def snapshot(self) -> dict[str, int]:
        """Totals for health and metrics: failed attempts, and attempts refused while waiting."""
        with self._lock:
            return dict(self._totals)

    def _bump(self, name: str) -> None:
        self._totals[name] += 1
        if self._count is not None:
            self._count(name)
