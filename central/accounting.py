"""Loss accounting per device, from the archive (where every event is seen), not per subscriber.

Why from the archive: a member of a shared subscription sees only its share of a device's
events, so a gap it sees means nothing. The archive holds every event any instance stored,
in whatever order they came (alarms are sent ahead of a backlog), so a gap is simply a
sequence number not stored yet; it closes when the event arrives.

A gap is ``pending`` while the device may still send it: its latest health says events are
in its spool, or says its last sequence number is below the gap. It is ``lost`` once the
device reports an empty spool and a last sequence number past the gap: nothing older is in
flight. Each lost gap is shown with the device's own drop counters, which should explain it
(overflow, refused, expired); a lost gap the counters do not explain is a defect to chase.

Sequence numbers start at 1 (docs/protocol.md), so missing numbers below the first stored one
count as a gap too (an archive started after a device is reported once, then retention).
"""

from __future__ import annotations

from typing import Any

from central.store import Store

DROP_COUNTERS = ("dropped", "dropped_overflow", "dropped_refused", "dropped_expired")


def gaps(store: Store) -> list[dict[str, Any]]:
    """Every open gap with its status and the device's drop counters beside it."""
    fleet = {d["device"]: d for d in store.fleet()}
    holes = [(h["device"], int(h["first"]), int(h["last"])) for h in store.seq_holes()]
    holes += [(s["device"], 1, int(s["min_seq"]) - 1) for s in store.seq_summary()
              if int(s["min_seq"]) > 1]
    out = []
    for device, first, last in sorted(holes):
        health = (fleet.get(device) or {}).get("health") or {}
        spool = health.get("spool") if isinstance(health.get("spool"), dict) else {}
        depth, last_seq = spool.get("depth"), spool.get("last_seq")
        oldest = spool.get("oldest_seq")  # lowest seq still in the device's spool (docs/protocol.md)
        settled = ((isinstance(oldest, int) and oldest > last)
                   or (depth == 0 and isinstance(last_seq, int) and last_seq >= last))
        out.append({"device": device, "first": first, "last": last, "count": last - first + 1,
                    "status": "lost" if settled else "pending",
                    "device_counters": {k: spool.get(k) for k in DROP_COUNTERS if k in spool},
                    "spool_depth": depth, "device_last_seq": last_seq})
    return out


def summary(store: Store) -> dict[str, Any]:
    """Per device: events stored, highest sequence number, missing and lost counts."""
    open_gaps = gaps(store)
    per: dict[str, dict[str, Any]] = {}
    for s in store.seq_summary():
        per[s["device"]] = {"device": s["device"], "events": int(s["events"]),
                            "max_seq": int(s["max_seq"]), "missing": 0, "lost": 0}
    for g in open_gaps:
        d = per.setdefault(g["device"], {"device": g["device"], "events": 0, "max_seq": 0,
                                         "missing": 0, "lost": 0})
        d["missing"] += g["count"]
        if g["status"] == "lost":
            d["lost"] += g["count"]
    return {"devices": sorted(per.values(), key=lambda d: d["device"]), "gaps": open_gaps}
