"""A patrol card at a node becomes a checkin event with the card's keyed hash and the node's
position; a card that is not on the gateway's allow-list is flagged as unknown."""

from __future__ import annotations

import time

import pytest

from gateway.events import Location
from gateway.sensors.cards import card_hash

CARD_KEY = bytes(range(0x40, 0x60))
KNOWN = bytes.fromhex("0a00123456")
STRANGER = bytes.fromhex("0b0000beef")


def em4100(card: bytes) -> bytes:
    """The ASCII frame of a 125 kHz EM4100 reader (RDM6300 kind) for ``card``."""
    x = 0
    for b in card:
        x ^= b
    return b"\x02" + (card.hex().upper() + f"{x:02X}").encode() + b"\x03"


def test_checkin_known_and_unknown_card(rig, node, gateway, events, strategy, tmp_path,
                                        record_property: pytest.RecordProperty) -> None:
    if node.spec.card_reader != "em4100" or not hasattr(node, "feed_card"):
        pytest.skip(f"node {node.name}: no EM4100 card reader and card stimulus on this rig "
                    "(card_reader = \"em4100\" on a simulated node)")
    key = tmp_path / "card.key"
    key.write_bytes(CARD_KEY)
    allow = tmp_path / "cards.txt"
    allow.write_text(f"{card_hash(CARD_KEY, 'em4100', KNOWN).hex()}  # em4100\n")
    gateway.configure(sensors={"checkin": {"key_file": str(key), "allow_list": str(allow)}})
    bound = rig.spec.timing.alarm_latency_s
    strategy.transition("node_asleep")
    since = events.mark()

    t0 = time.monotonic()
    node.feed_card(em4100(KNOWN))
    tx = node.expect(r"^TX type=4 seq=(\d+)", bound)
    got = events.expect("checkin", within=bound, since=since, node=node.name)
    latency = time.monotonic() - t0
    record_property("checkin_latency_s", round(latency, 3))
    body = got.event.body
    assert body.node_seq == int(tx.group(1)), "event does not trace to the node frame"
    assert body.card_hash == card_hash(CARD_KEY, "em4100", KNOWN), "not the keyed hash"
    assert body.known is True, "a card on the allow-list must be known"
    if node.spec.position is not None:
        assert got.event.loc == Location(*node.spec.position), "check-in must say where"

    since = events.mark()
    node.feed_card(em4100(STRANGER))
    got = events.expect("checkin", within=bound, since=since, node=node.name)
    assert got.event.body.known is False, "a card missing from the allow-list must be flagged"
    assert KNOWN.hex() not in repr(events.events()), "a raw card id left the gateway"
