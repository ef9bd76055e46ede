"""A damaged spool file never stops the gateway and never makes sequence numbers go back.

The files are damaged for real, the ways a power cut or a failing SD card does it: random
bytes over a third of the file, truncation to half, a zeroed header. Every test here failed
before the spool learned to salvage (it crash-looped, or restarted numbering at 1).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from gateway.events import DeviceFault, VehiclePassage
from gateway.service.gateway import GatewayService
from gateway.uplink.spool import Draft, Spool
from tests.conftest import Collector, make_config

N = 1000


def draft(i: int = 0, size: int = 300) -> Draft:
    return Draft(f"t/{i}", os.urandom(size), "application/cbor", 1, 1_000_000 + i)


def filled_spool(path: Path, n: int = N) -> None:
    s = Spool(path)
    for start in range(0, n, 100):
        s.append_many([lambda seq, i=i: draft(i) for i in range(start, start + 100)])
    s.close()


def random_bytes_at_a_third(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 3)
        f.write(os.urandom(8192))


def truncate_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def zero_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"\0" * 100)


DAMAGE = {"random_bytes": random_bytes_at_a_third, "truncated": truncate_to_half,
          "zeroed_header": zero_header}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_spool_is_salvaged_and_numbering_goes_on(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "spool.sqlite3"
    filled_spool(path)
    DAMAGE[damage](path)

    s = Spool(path)  # must not raise
    st = s.stats()
    seqs = [e.seq for e in s.read_after(0, 2 * N)]
    # Salvaged rows keep their numbers; whatever was not salvaged is counted as dropped.
    assert seqs == sorted(set(seqs)) and all(1 <= q <= N for q in seqs)
    assert st.depth == len(seqs)
    assert st.depth + st.dropped_corrupt >= N, st
    if damage == "zeroed_header":
        assert st.depth == N, "a zeroed header leaves every row readable"
    else:
        assert 0 < st.depth < N or st.dropped_corrupt > 0
    # Numbering never goes back: the next event is numbered above every number reserved.
    nxt = s.append(lambda seq: draft())
    assert nxt is not None and nxt > N
    faults = s.take_faults()
    assert [f.code for f in faults] == ["spool_corrupt"]
    assert f"salvaged {len(seqs)}" in faults[0].message
    assert list(tmp_path.glob("spool.sqlite3.corrupt-*")), "the damaged file is kept"
    s.close()


def test_a_bad_page_met_while_running_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    filled_spool(path)
    s = Spool(path)
    # Damage the file under the running spool (a failing card): the next read hits it.
    s._db.execute("PRAGMA cache_size=0")
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 3)
        f.write(os.urandom(8192))
    s._db.close()  # drop SQLite's page cache, as a long-running process would lose it
    s._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    entries = s.read_after(0, 2 * N)  # must not raise
    assert entries and len(entries) < N
    assert [f.code for f in s.take_faults()] == ["spool_corrupt"]
    assert (s.append(lambda seq: draft()) or 0) > N
    s.close()


def test_sequence_never_goes_back_when_the_spool_file_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    filled_spool(path, 100)
    path.unlink()  # gone entirely (card swapped, file deleted): the mark beside it remains
    s = Spool(path)
    assert (s.append(lambda seq: draft()) or 0) > 100
    assert [f.code for f in s.take_faults()] == ["spool_missing"]
    s.close()


def test_damaged_spool_through_the_gateway(broker: LocalMosquitto, tmp_path: Path) -> None:
    """The issue's probe: a gateway holding 1,000 events, 8 KiB of random bytes at a third
    of the file, started again: it comes up, says what happened, and sends what it saved."""
    cfg = make_config(tmp_path, broker.port)
    broker.stop()
    service = GatewayService(cfg)
    service.start()
    stored = service.producer.emit_many([VehiclePassage(plate=f"京A{i:05d}", plate_conf=0.9,
                                                        track_id=i) for i in range(N)])
    assert all(stored)
    service.stop()
    random_bytes_at_a_third(cfg.spool.path)

    broker.start()
    sub = Collector(broker.port, client_id="central-1").start()
    service = GatewayService(cfg)  # exit 1 with "malformed" before the fix
    salvaged = service.spool.stats().depth
    service.start()
    try:
        assert sub.wait_for(lambda c: any(isinstance(m.event.body, DeviceFault)
                                          for m in c.events if m.event), 15)
        assert sub.wait_for(lambda c: len(c.events) >= salvaged + 1, 30), len(sub.events)
        fault = next(m.event for m in sub.events
                     if m.event and isinstance(m.event.body, DeviceFault))
        assert fault.body.component == "spool" and fault.body.code == "spool_corrupt"
        assert fault.seq > N, "the fault is numbered above everything used before"
        st = service.spool.stats()
        assert st.dropped_corrupt > 0 and salvaged + st.dropped_corrupt >= N
        health = service.publish_health()
        assert health["spool"]["dropped_corrupt"] == st.dropped_corrupt
    finally:
        service.stop()
        sub.stop()
