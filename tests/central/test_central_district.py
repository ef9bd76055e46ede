"""Must hold: a district's load into two central instances, with a kill -9 and a database outage.

300 simulated gateways at ~700 events/s for 30 s (health every 10 s, a few gateways dropping
off and reconnecting with a burst) publish into one mosquitto; two ``edgepost central``
processes in one shared group store into a private PostgreSQL. Mid-run one instance is killed
with SIGKILL and started again, and PostgreSQL is stopped for 20 s. Every event the broker
acknowledged must be stored exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests_central_helpers import CentralProc, district_pair

from central.pglocal import LocalPostgres
from central.sim import District, DistrictPlan
from central.store import open_store
from gateway.broker import LocalMosquitto


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_district_exactly_once_through_kill9_and_a_database_outage(tmp_path: Path) -> None:
    broker = LocalMosquitto(persistence=True)  # unlimited queues (max_queued_messages 0)
    pg = LocalPostgres()
    procs: list[CentralProc] = []
    try:
        broker.start()
        pg.start()
        url = pg.create_database("district")
        open_store(url).migrate()
        a, b = district_pair(broker.port, url, tmp_path, receive_maximum=2000)
        procs += [a, b]

        plan = DistrictPlan(gateways=300, rate=700, duration_s=30, health_interval_s=10,
                            port=broker.port, outage_share=0.05, outage_at_s=20, outage_s=4)
        done: set[str] = set()
        seen_backpressure: list[dict[str, Any]] = []

        def faults(t: float) -> None:
            # kill -9 one instance at 3 s, start it again at 6 s; PostgreSQL down 8 s .. 28 s
            if t >= 3 and "kill" not in done:
                done.add("kill")
                a.kill9()
            if t >= 6 and "restart" not in done:
                done.add("restart")
                a.start()
            if t >= 8 and "pg-stop" not in done:
                done.add("pg-stop")
                pg.stop("fast")
            if 18 <= t < 27 and not seen_backpressure:
                h = b.health()
                if h and h["backpressure"]:
                    seen_backpressure.append(h)
            if t >= 28 and "pg-start" not in done:
                done.add("pg-start")
                pg.start()

        report = District(plan).run(drain_timeout_s=60, on_tick=faults)
        assert {"kill", "restart", "pg-stop", "pg-start"} <= done
        assert 600 <= report.rate <= 800, f"the simulator reached {report.rate:.0f} events/s"
        assert report.acked == report.generated, f"broker acknowledged {report.acked} of {report.generated}"
        assert report.outages == 15 and report.health_sent >= 600, report.summary()
        assert seen_backpressure, "no instance said in its health that it was holding back"
        assert "database unavailable" in seen_backpressure[0]["backpressure"]

        store = open_store(url)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and store.totals()["events"] < report.acked:
            time.sleep(0.5)  # polling the archive with a deadline
        ids = store.event_ids()
        missing = report.acked_ids - set(ids)
        extra = set(ids) - report.acked_ids
        assert not missing, f"{len(missing)} acknowledged events never stored\nA:\n{a.log_text()[-3000:]}"
        assert not extra, f"{len(extra)} stored events the simulator never sent"
        assert len(ids) == len(set(ids)) == report.generated, "an event is stored more than once"
        holes = store.seq_holes()
        assert holes == [], f"sequence gaps in the archive: {holes[:5]}"
        fleet = store.fleet()
        assert len(fleet) == 300 and all(d["spool_depth"] is not None for d in fleet)
        ha, hb = a.health(), b.health()
        assert ha and hb and ha["database"]["ok"] and hb["database"]["ok"]
        assert ha["stored"] > 0 and hb["stored"] > 0, "both instances took a share"
        store.close()
    finally:
        for p in procs:
            p.stop()
        pg.close()
        broker.close()
