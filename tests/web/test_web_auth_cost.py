"""What a login costs a gateway: argon2 verifications one at a time, scrapes remembered.

Each argon2 verification allocates its hash's whole memory cost (64 MiB with the centre's
profile), and the page serves requests from a thread pool: without a bound, a burst of login
attempts would multiply that on a Pi. These run in a fresh interpreter so that its peak RSS
(``VmHWM``) belongs to the verifications alone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from webkit.auth import RecentlyVerified, hash_password

PASSWORD = "roadside-secret-1"

BURST = textwrap.dedent("""
    import threading
    from webkit.auth import hash_password, verify_password

    def hwm_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    stored = hash_password("roadside-secret-1")  # the centre's profile: 64 MiB per verification
    base = hwm_kb()
    threads = [threading.Thread(target=verify_password, args=(stored, f"guess-{i}"))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print((hwm_kb() - base) // 1024)
""")


def test_a_burst_of_logins_costs_one_hash_of_memory_not_four() -> None:
    out = subprocess.run([sys.executable, "-c", BURST], capture_output=True, text=True, check=True,
                         timeout=120)
    grew_mb = int(out.stdout.strip())
    # one 64 MiB verification at a time; four at once would add ~256 MiB
    assert grew_mb < 100, f"peak RSS grew {grew_mb} MB for 4 concurrent verifications"


def test_a_scraper_is_verified_once_per_window_and_never_for_a_wrong_password() -> None:
    stored = hash_password(PASSWORD, "gateway")
    seen = RecentlyVerified(ttl_s=300)
    assert seen.check("prometheus", PASSWORD, stored)
    assert seen.hits == 0  # the first one paid the hash
    assert all(seen.check("prometheus", PASSWORD, stored) for _ in range(5))
    assert seen.hits == 5
    assert not seen.check("prometheus", "wrong-password", stored), "a wrong password is never cached"
    assert seen.check("someone-else", PASSWORD, stored) and seen.hits == 5, "another name misses"
    # a new users file (another hash of the same password) is verified again
    assert seen.check("prometheus", PASSWORD, hash_password(PASSWORD, "gateway"))
    assert seen.hits == 5
    assert not seen.check("nobody", PASSWORD, None)


def test_remembered_logins_expire_and_stay_bounded() -> None:
    stored = hash_password(PASSWORD, "gateway")
    seen = RecentlyVerified(ttl_s=0.0, size=2)
    assert seen.check("prometheus", PASSWORD, stored)
    assert seen.check("prometheus", PASSWORD, stored)
    assert seen.hits == 0, "expired at once: verified again"
    bounded = RecentlyVerified(ttl_s=300, size=2)
    others = [hash_password(PASSWORD, "gateway") for _ in range(3)]
    for h in others:
        assert bounded.check("p", PASSWORD, h)
    assert len(bounded._until) == 2
