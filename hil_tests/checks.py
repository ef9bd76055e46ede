"""Assertions shared by the scenarios (no loss, no duplicates, order, drained spool)."""

from __future__ import annotations

from collections import Counter

from hil_tests.rig.events_probe import EventsProbe
from hil_tests.rig.node_base import NodeDriver

DATA_TYPES = (1, 2)  # READINGS, ALARM: the frames that become events (STATUS does not)


def wait_drained(events: EventsProbe, within: float) -> int:
    """Wait until the gateway's spool is empty and every stored event has arrived.

    Returns the last gateway seq. Uses the gateway's own health (spool depth, last_seq), and
    only reports that arrive after this call: one taken before the node's last frame reached
    the gateway would say "drained" while that frame's event is still to come.
    """
    since = events.mark()

    def drained(p: EventsProbe) -> bool:
        fresh = [m.document for m in p.messages[since:] if m.kind == "health"]
        h = fresh[-1].get("spool", {}) if fresh else {}
        seqs = {m.event.seq for m in p.events()}  # type: ignore[union-attr]
        return (h.get("depth") == 0 and bool(seqs)
                and h.get("last_seq") == max(seqs) == len(seqs))

    try:
        events.wait_for(drained, within, "spool drained and every stored event received")
    except AssertionError:
        seqs = sorted(m.event.seq for m in events.events())  # type: ignore[union-attr]
        missing = sorted(set(range(1, (max(seqs) if seqs else 0) + 1)) - set(seqs))
        raise AssertionError(
            f"not drained within {within:.0f} s: spool {events.latest_health().get('spool')}, "
            f"received {len(seqs)} events, missing gateway seqs {missing[:10]}"
            f"{'...' if len(missing) > 10 else ''}") from None
    return int(events.latest_health()["spool"]["last_seq"])


def node_events(events: EventsProbe, node: NodeDriver) -> list:
    """Bodies of sensor events from ``node``."""
    return [m.event.body for m in events.events()  # type: ignore[union-attr]
            if m.event.type.label in ("sensor_readings", "sensor_alarm")  # type: ignore[union-attr]
            and m.event.body.node == node.name]  # type: ignore[union-attr]


def assert_node_frames_exactly_once(events: EventsProbe, node: NodeDriver,
                                    seqs: set[int] | None = None) -> None:
    """Every data frame the node completed (``seqs``: those to check) is an event, once."""
    bodies = node_events(events, node)
    sent = {s: t for s, t in node.sent_frames().items() if t in DATA_TYPES}
    want = set(sent) if seqs is None else set(seqs) & set(sent)
    got = {b.node_seq for b in bodies}
    lost = sorted(want - got)
    assert not lost, f"node frames lost: node seqs {lost[:10]} sent completely but never published"
    keys = Counter((b.node_seq, getattr(b, "sensor", None), getattr(b, "state", None))
                   for b in bodies)
    doubled = sorted(k[0] for k, n in keys.items() if n > 1)
    assert not doubled, f"gateway double-published node frames: node seqs {doubled[:10]}"
    # A frame the node began (TX) but whose SENT line a power cut swallowed may have reached
    # the gateway whole, so its event is not a phantom; a scenario that cuts mid-frame checks
    # that frame itself. Anything the node never even began is.
    started = {s for s, t in node.started_frames().items() if t in DATA_TYPES}
    phantom = sorted(got - started)
    assert not phantom, f"events for node seqs the node never began to send: {phantom[:10]}"
