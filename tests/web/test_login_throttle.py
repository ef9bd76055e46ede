"""Failed logins slow down per client address (webkit.throttle), on the centre and the gateway.

Found by probing (session 42): both pages checked every login attempt with argon2 and never said
no, so one client could guess passwords without end (about a million a day) while real logins
queued behind its guesses.
"""

from __future__ import annotations

import threading

from webkit.throttle import LoginThrottle, client_key


def test_an_address_waits_after_five_failures_twice_as_long_each_time() -> None:
    t = LoginThrottle()
    for i in range(5):
        assert t.attempt("10.0.0.9", now=100.0 + i) == 0.0
        t.failed("10.0.0.9")
    # the fifth failure (at 104) starts a wait of 2 s
    assert t.attempt("10.0.0.9", now=105.0) == 1.0
    assert t.attempt("10.0.0.9", now=106.0) == 0.0, "the wait is over"
    t.failed("10.0.0.9")
    assert t.attempt("10.0.0.9", now=106.5) == 3.5, "the sixth failure: 4 s"
    assert t.attempt("10.0.0.2", now=106.5) == 0.0, "another address is not held"
    assert t.snapshot() == {"login_failed": 6, "login_refused": 2}


def test_the_wait_is_capped_and_a_success_clears_it() -> None:
    t = LoginThrottle()
    now = 0.0
    for _ in range(40):
        wait = t.attempt("a", now=now)
        if wait:  # go past the wait, then try again
            now += wait
            assert t.attempt("a", now=now) == 0.0
        t.failed("a")
    assert t.attempt("a", now=now) == 900.0, "never more than 15 minutes"
    now += 900.0
    assert t.attempt("a", now=now) == 0.0
    t.succeeded("a")
    for i in range(4):
        assert t.attempt("a", now=now + i) == 0.0, "a success forgets the failures"
        t.failed("a")


def test_a_parallel_burst_is_held_to_the_free_attempts() -> None:
    t = LoginThrottle()
    results: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        wait = t.attempt("10.1.1.1", now=50.0)
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(1 for w in results if w == 0.0) == 5


def test_memory_is_bounded_and_old_records_are_forgotten() -> None:
    t = LoginThrottle(size=3, forget_s=10.0)
    for i in range(5):
        t.attempt("x", now=float(i))
        t.failed("x")
    assert t.attempt("x", now=5.0) > 0
    assert t.attempt("x", now=30.0) == 0.0, "a long quiet spell starts afresh"
    for name in ("p", "q", "r"):
        t.attempt(name, now=31.0)
    assert len(t._records) == 3


def test_ipv6_clients_are_grouped_by_their_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::7") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.5") == "10.0.0.5"
    assert client_key("192.168.1.20") == "192.168.1.20"
    assert client_key(None) == "unknown" and client_key("testclient") == "testclient"
