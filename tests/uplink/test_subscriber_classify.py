"""EventSubscriber.classify without a broker: what a message becomes (issue 16 made the
event case faster; it must still be exactly the Received that the dataclass builds)."""

from __future__ import annotations

from gateway.events import Event, Format, ObjectEvent, Topics, encode
from gateway.events.types import Phase
from gateway.subscriber import EventSubscriber, Received, SubscriberOptions


def test_an_event_becomes_the_received_the_dataclass_builds_and_a_repeat_is_dropped() -> None:
    sub = EventSubscriber(SubscriberOptions(port=1), lambda r: None)  # never started
    event = Event.new(ObjectEvent(phase=Phase.ENTER, cls="person", track_id=7)).with_seq(3)
    topic = Topics("gw-01").event(event.type)
    for fmt in Format:
        got = sub.classify(topic, encode(event, fmt))
        assert got == Received("gw-01", "event", event=event, topic=topic)
        assert sub.classify(topic, encode(event, fmt)) is None  # same id: a duplicate
        sub.dedup = type(sub.dedup)()  # forget it for the next format
    bad = sub.classify(topic, b"\xff\x00")
    assert bad is not None and bad.kind == "bad" and bad.error and sub.bad == 1
