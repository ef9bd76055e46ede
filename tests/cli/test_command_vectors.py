"""Command vectors (docs/vectors/commands/*.json): bytes and meaning agree, the gateway's own
router answers as the vectors say, and the sealed node-key message opens only for its
gateway, only once, and only when the site CA made it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.events import Format
from gateway.events.topics import Topics
from gateway.sensors.keys import NodeKeyRegistry
from gateway.service.commands import CommandRouter, _arguments
from provisioning.keychannel import KeyChannelError, NodeKeyMessage, apply, open_sealed, seal
from tests.conftest import REPO

VECTORS = sorted((REPO / "docs/vectors/commands").glob("*.json"))


def unhex(value: Any) -> Any:
    """The JSON form with ``{"$hex": ...}`` turned back into bytes."""
    if isinstance(value, dict):
        if set(value) == {"$hex"}:
            return bytes.fromhex(value["$hex"])
        return {k: unhex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unhex(v) for v in value]
    return value


def load(name: str) -> dict[str, Any]:
    return json.loads((REPO / "docs/vectors/commands" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector_bytes_match_their_meaning(path: Path) -> None:
    v = json.loads(path.read_text(encoding="utf-8"))
    request = unhex(v["request"])
    raw = bytes.fromhex(v["request_cbor_hex"])
    assert _arguments(raw) == request  # what the gateway's router reads
    assert raw == (cbor2.dumps(request, canonical=True) if request else b"")
    reply = unhex(v["reply"])
    assert cbor2.loads(bytes.fromhex(v["reply_cbor_hex"])) == reply
    assert isinstance(reply["ok"], bool) and isinstance(reply["ts"], int)
    assert ("error" in reply) is (not reply["ok"])
    assert v["topic"].endswith(f"/cmd/{v['command']}")


def router_reply(name: str, payload: bytes) -> dict[str, Any]:
    done = threading.Event()
    got: dict[str, Any] = {}

    def send(topic: str, data: bytes, qos: int, correlation: bytes | None) -> None:
        got.update(topic=topic, doc=cbor2.loads(data), correlation=correlation)
        done.set()

    router = CommandRouter(Topics("gw-example"), Format.CBOR, send)
    try:
        router.dispatch(name, payload, None)
        assert done.wait(5)
    finally:
        router.close()
    assert got["topic"] == f"edgepost/v1/gw-example/reply/{name}"
    return got["doc"]


def test_router_answers_as_the_vectors_say() -> None:
    ping = load("ping")
    doc = router_reply("ping", bytes.fromhex(ping["request_cbor_hex"]))
    assert {k: v for k, v in doc.items() if k != "ts"} == \
        {k: v for k, v in unhex(ping["reply"]).items() if k != "ts"}
    unknown = load("unknown")
    doc = router_reply("unknown", b"")
    assert doc["ok"] is False and doc["error"].startswith("unknown command 'unknown'; known:")
    assert set(doc) == set(unhex(unknown["reply"]))


def test_node_key_vector_opens_with_its_test_keys(tmp_path: Path) -> None:
    v = load("node_key")
    t = v["test_only"]
    sealed = unhex(v["request"])["sealed"]
    msg = open_sealed(sealed, "gw-example", t["gateway_key_pem"].encode(), t["ca_cert_pem"].encode())
    want = unhex(t["opens_to"])
    assert (msg.node, msg.action, msg.key, msg.name, msg.issued_ms) == (
        want["node"], want["action"], want["key"], want["name"], want["issued_ms"])
    keys = tmp_path / "node-keys.toml"
    reply = apply(msg, keys)
    assert reply == {k: v for k, v in unhex(v["reply"]).items() if k not in ("ok", "ts")}
    assert NodeKeyRegistry.from_file(keys).key_for(17) == want["key"]
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(KeyChannelError, match="older or repeated"):
        apply(msg, keys)  # a recorded message cannot be played again
    with pytest.raises(KeyChannelError, match="not for 'gw-other'"):
        open_sealed(sealed, "gw-other", t["gateway_key_pem"].encode(), t["ca_cert_pem"].encode())


def test_only_the_site_ca_can_seal_and_revoke_removes(tmp_path: Path) -> None:
    v = load("node_key")
    t = v["test_only"]
    gw_key, ca_pem = t["gateway_key_pem"].encode(), t["ca_cert_pem"].encode()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    gw_cert = _cert_for(serialization.load_pem_private_key(gw_key, None))
    forger = ec.generate_private_key(ec.SECP256R1())
    forged = seal(NodeKeyMessage("gw-example", 5, "add", b"k" * 32), gw_cert, forger)
    with pytest.raises(KeyChannelError, match="does not verify with the site CA"):
        open_sealed(forged, "gw-example", gw_key, ca_pem)
    env = cbor2.loads(unhex(v["request"])["sealed"])
    env["ct"] = bytes([env["ct"][0] ^ 1]) + env["ct"][1:]
    with pytest.raises(KeyChannelError, match="does not verify"):
        open_sealed(cbor2.dumps(env), "gw-example", gw_key, ca_pem)
    assert x509.load_pem_x509_certificate(ca_pem)  # the vector's CA is a certificate
    keys = tmp_path / "k.toml"
    msg = open_sealed(unhex(v["request"])["sealed"], "gw-example", gw_key, ca_pem)
    apply(msg, keys)
    revoke = NodeKeyMessage("gw-example", 17, "revoke", issued_ms=msg.issued_ms + 1)
    assert apply(revoke, keys) == {"node": 17, "action": "revoke", "nodes": 0}
    assert NodeKeyRegistry.from_file(keys).key_for(17) is None


def _cert_for(key: Any) -> bytes:
    """A certificate holding ``key``'s public key (the issuer does not matter to seal)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw-example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_command_flood_is_held_to_a_bounded_queue() -> None:
    # found by probing (session 43): commands queued without bound behind a slow one, so a
    # runaway script or a stolen operator certificate could grow a Pi's memory without end
    from gateway.service.commands import MAX_WAITING

    release = threading.Event()
    started = threading.Event()
    all_answered = threading.Event()
    replies: list[str] = []

    def send(topic: str, data: bytes, qos: int, correlation: bytes | None) -> None:
        replies.append(topic)
        if len(replies) == MAX_WAITING + 1:  # the slow one and every command that waited
            all_answered.set()

    def slow(args: dict[str, Any]) -> dict[str, Any]:
        started.set()
        release.wait(10)
        return {}

    router = CommandRouter(Topics("gw-example"), Format.CBOR, send)
    router.register("slow", slow)
    try:
        router.dispatch("slow", b"", None)
        assert started.wait(5)  # the worker is busy: everything else waits
        for _ in range(MAX_WAITING + 100):
            router.dispatch("ping", b"", None)
        assert router.health() == {"waiting": MAX_WAITING, "dropped": 100}
        release.set()
        assert all_answered.wait(10)
        assert router.health()["waiting"] == 0 and len(replies) == MAX_WAITING + 1
    finally:
        release.set()
        router.close()
