"""A full disk loses events visibly: a counted drop, a sequence gap, one fault sent from memory.

The disk is filled with SQLite's ``PRAGMA max_page_count``, which makes SQLite report
SQLITE_FULL exactly as on a full filesystem, deterministically and without root (a small
tmpfs would need a mount). The fault event must not go through the full disk.
"""

from __future__ import annotations

from pathlib import Path

from gateway.broker import LocalMosquitto
from gateway.events import DeviceFault, VehiclePassage
from gateway.service.gateway import GatewayService
from tests.conftest import Collector, make_config


def passage(i: int) -> VehiclePassage:
    return VehiclePassage(plate=f"京A{i:05d}", plate_conf=0.9, track_id=i)


def set_page_cap(service: GatewayService, pages: int | None) -> None:
    spool = service.spool
    with spool._lock:
        cap = pages if pages is not None else 1_000_000_000
        if pages == 0:
            cap = spool._db.execute("PRAGMA page_count").fetchone()[0]
        spool._db.execute(f"PRAGMA max_page_count={cap}")


def test_full_disk_is_a_counted_gap_and_one_fault(broker: LocalMosquitto,
                                                  tmp_path: Path) -> None:
    cfg = make_config(tmp_path, broker.port)
    sub = Collector(broker.port, client_id="central-1").start()
    service = GatewayService(cfg)
    service.start()
    try:
        assert all(service.producer.emit_many([passage(i) for i in range(10)]))
        assert sub.wait_for(lambda c: len(c.events) >= 10, 10)
        set_page_cap(service, 0)  # the disk is full from now on
        big = [VehiclePassage(plate="京A12345", plate_conf=0.9, track_id=i,
                              crop=b"\xff" * 20_000) for i in range(40)]
        lost = [e for e in (service.producer.emit(b) for b in big) if e is None]
        assert lost, "the cap must refuse something"
        st = service.spool.stats()
        assert st.dropped_disk == len(lost)
        service.report_faults()
        assert sub.wait_for(lambda c: any(m.event and isinstance(m.event.body, DeviceFault)
                                          for m in c.events), 10)
        set_page_cap(service, None)  # space returns
        after = service.producer.emit(passage(99))
        assert after is not None
        assert sub.wait_for(lambda c: any(m.event and m.event.seq == after.seq
                                          for m in c.events), 10)
        seqs = sorted(m.event.seq for m in sub.events if m.event)
        faults = [m.event for m in sub.events if m.event and isinstance(m.event.body, DeviceFault)]
        assert [(f.body.component, f.body.code) for f in faults] == [("spool", "disk_full")]
        # Every number up to the newest is either received or counted as lost to the disk.
        missing = set(range(1, after.seq + 1)) - set(seqs)
        assert len(missing) == service.spool.stats().dropped_disk, (missing, seqs)
        assert len(seqs) == len(set(seqs))
    finally:
        service.stop()
    # After a restart, numbering continues above the fault's number (sent from memory).
    service = GatewayService(cfg)
    try:
        nxt = service.producer.emit(passage(100))
        assert nxt is not None and nxt.seq > max(f.seq for f in faults)
        assert service.spool.stats().dropped_disk == len(lost)
    finally:
        service.spool.close()
        sub.stop()
