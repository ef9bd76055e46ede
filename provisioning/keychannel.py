"""The node key channel: a node key (or its revocation) sealed for one gateway, sent as the
argument of ``cmd/node_key``, opened and applied to the gateway's own key file.

Why: ``provision node`` runs on the technician's laptop, but the node's frames are checked by
the gateway against *its* key file on the Pi. Copying that file by hand is the step that
gets forgotten; sending it in clear over MQTT would hand every subscriber the key. Here the
key travels over the broker sealed: encrypted to the gateway's certificate key and signed
by the site CA key, so only that gateway can read it and only the site's technician tooling
can make one.

Contract (docs/protocol.md, section 4.1, ``cmd/node_key``):

* envelope (CBOR map): ``v`` = 1, ``to`` = gateway id, ``epk`` = ephemeral P-256 public key
  (65-byte uncompressed point), ``nonce`` (12 bytes), ``ct`` = ChaCha20-Poly1305 ciphertext,
  ``sig`` = ECDSA P-256/SHA-256 by the site CA over the canonical CBOR of
  ``[v, to, epk, nonce, ct]``;
* key = HKDF-SHA256(ECDH(ephemeral, gateway key), salt = epk, info = ``edgepost node_key
  v1|<to>``), associated data = ``to``;
* plaintext (CBOR map): ``node`` (1..65534), ``action`` (``add`` | ``revoke``), ``key``
  (bytes, add only), ``name`` (optional text), ``issued_ms`` (the laptop's clock).
* The gateway applies a message only if the signature verifies with its CA certificate,
  ``to`` is its own id and ``issued_ms`` is above the last one it applied (kept beside the
  key file), so a recorded message cannot be replayed to bring back a revoked key.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2

from gateway.textfile import read_utf8

VERSION = 1
INFO = b"edgepost node_key v1|"
ACTIONS = ("add", "revoke")


class KeyChannelError(ValueError):
    """A sealed key message is refused; the text says why (never the key)."""


@dataclass(frozen=True)
class NodeKeyMessage:
    """What a sealed message says: add or revoke ``node``'s key on gateway ``to``."""

    to: str
    node: int
    action: str
    key: bytes | None = None
    name: str | None = None
    issued_ms: int = 0


def _hkdf(shared: bytes, epk: bytes, to: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, salt=epk, info=INFO + to.encode()).derive(shared)


def _signed_part(env: dict[str, Any]) -> bytes:
    return cbor2.dumps([env["v"], env["to"], env["epk"], env["nonce"], env["ct"]], canonical=True)


def seal(msg: NodeKeyMessage, gateway_cert_pem: bytes, ca_key: Any) -> bytes:
    """The ``sealed`` argument of ``cmd/node_key`` for ``msg`` (run on the laptop)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if msg.action not in ACTIONS or not 1 <= msg.node <= 0xFFFE:
        raise KeyChannelError(f"bad node key message: node {msg.node}, action {msg.action!r}")
    gw_pub = x509.load_pem_x509_certificate(gateway_cert_pem).public_key()
    if not isinstance(gw_pub, ec.EllipticCurvePublicKey):
        raise KeyChannelError("the gateway certificate does not hold an EC key")
    eph = ec.generate_private_key(ec.SECP256R1())
    epk = eph.public_key().public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    plain: dict[str, Any] = {"node": msg.node, "action": msg.action,
                             "issued_ms": msg.issued_ms or int(time.time() * 1000)}
    if msg.key is not None:
        plain["key"] = msg.key
    if msg.name:
        plain["name"] = msg.name
    nonce = os.urandom(12)
    aead = ChaCha20Poly1305(_hkdf(eph.exchange(ec.ECDH(), gw_pub), epk, msg.to))
    env: dict[str, Any] = {"v": VERSION, "to": msg.to, "epk": epk, "nonce": nonce,
                           "ct": aead.encrypt(nonce, cbor2.dumps(plain, canonical=True),
                                              msg.to.encode())}
    env["sig"] = ca_key.sign(_signed_part(env), ec.ECDSA(hashes.SHA256()))
    return cbor2.dumps(env, canonical=True)


def open_sealed(sealed: bytes, device_id: str, gateway_key_pem: bytes, ca_cert_pem: bytes
                ) -> NodeKeyMessage:
    """Verify and decrypt a sealed message for gateway ``device_id``; KeyChannelError if not."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    try:
        env = cbor2.loads(sealed)
    except (cbor2.CBORDecodeError, ValueError, TypeError):
        raise KeyChannelError("sealed is not a CBOR envelope") from None
    if not isinstance(env, dict) or env.get("v") != VERSION or not all(
            isinstance(env.get(k), bytes) for k in ("epk", "nonce", "ct", "sig")):
        raise KeyChannelError("sealed envelope: expected v=1 with epk, nonce, ct, sig")
    if env.get("to") != device_id:
        raise KeyChannelError(f"sealed for gateway {env.get('to')!r}, not for {device_id!r}")
    ca_pub = x509.load_pem_x509_certificate(ca_cert_pem).public_key()
    assert isinstance(ca_pub, ec.EllipticCurvePublicKey)
    try:
        ca_pub.verify(env["sig"], _signed_part(env), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise KeyChannelError("signature does not verify with the site CA: not made by this "
                              "site's provisioning tool") from None
    own = serialization.load_pem_private_key(gateway_key_pem, password=None)
    assert isinstance(own, ec.EllipticCurvePrivateKey)
    try:
        epk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), env["epk"])
        key = _hkdf(own.exchange(ec.ECDH(), epk), env["epk"], device_id)
        plain = cbor2.loads(ChaCha20Poly1305(key).decrypt(env["nonce"], env["ct"],
                                                          device_id.encode()))
    except (InvalidTag, ValueError):
        raise KeyChannelError("cannot decrypt: sealed for another key of this gateway "
                              "(re-enrolled since?)") from None
    node, action = plain.get("node"), plain.get("action")
    if not isinstance(node, int) or not 1 <= node <= 0xFFFE or action not in ACTIONS:
        raise KeyChannelError("sealed message: bad node id or action")
    key_bytes = plain.get("key")
    if action == "add" and not isinstance(key_bytes, bytes):
        raise KeyChannelError("sealed message: add without a key")
    return NodeKeyMessage(device_id, node, action, key_bytes if action == "add" else None,
                          plain.get("name") if isinstance(plain.get("name"), str) else None,
                          int(plain.get("issued_ms", 0)))


def _last_issued(mark: Path) -> int:
    """``issued_ms`` of the last message applied (0 before the first)."""
    if not mark.exists():
        return 0
    try:
        last = json.loads(read_utf8(mark))["issued_ms"]
        if isinstance(last, bool) or not isinstance(last, int):
            raise TypeError("issued_ms is not an integer")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # the replay guard: never guess it (0 would let every old message in again)
        raise KeyChannelError(f"{mark} is damaged ({exc}): node key messages are refused until it "
                              'is restored on site ({"issued_ms": <time of the last message '
                              'applied>}) or removed with the node keys checked') from None
    return last


def apply(msg: NodeKeyMessage, key_file: Path) -> dict[str, Any]:
    """Apply an opened message to ``key_file``; the ``cmd/node_key`` reply fields.

    Replays are refused: ``issued_ms`` must exceed the last applied one (``<key_file>.issued``).
    """
    import dataclasses

    from gateway.sensors.keys import NodeEntry, parse_key_file
    from provisioning.node_registry import read_entries, render_registry
    from provisioning.secrets import write_secret

    mark = key_file.with_name(key_file.name + ".issued")
    last = _last_issued(mark)
    if msg.issued_ms <= last:
        raise KeyChannelError(f"an older or repeated message (issued {msg.issued_ms}, last "
                              f"applied {last}): refused")
    entries = read_entries(key_file)
    if msg.action == "add":
        assert msg.key is not None
        old = entries.get(msg.node)  # a new key keeps the node's interval and position
        entries[msg.node] = (dataclasses.replace(old, key=msg.key, name=msg.name) if old
                             else NodeEntry(msg.key, msg.name))
    else:
        entries.pop(msg.node, None)
    text = render_registry(entries)
    parse_key_file(text, "toml")  # never write a file the key reloader would refuse
    write_secret(key_file, text.encode())
    write_secret(mark, json.dumps({"issued_ms": msg.issued_ms}).encode())
    return {"node": msg.node, "action": msg.action, "nodes": len(entries)}


def node_key_command(config: Any) -> Any:
    """Handler of ``cmd/node_key`` for a gateway configuration, or None when it cannot have
    one (no TLS identity to open sealed messages, or no node link with a key file)."""
    tls = config.mqtt.tls
    key_files = sorted({link.key_file for link in config.sensors.node_links})
    if tls is None or tls.keyfile is None or not key_files:
        return None
    device = config.device.id

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        sealed = args.get("sealed")
        if not isinstance(sealed, bytes):
            raise KeyChannelError("give {sealed: <bytes>} (made by `edgepost provision node`)")
        try:
            msg = open_sealed(sealed, device, Path(tls.keyfile).read_bytes(),
                              Path(tls.ca_file).read_bytes())
        except ImportError:
            raise KeyChannelError("this gateway lacks the cryptography package "
                                  "(pip install 'edgepost[gateway]')") from None
        reply: dict[str, Any] = {}
        for path in key_files:  # every link of this gateway reads the same node keys
            reply = apply(msg, Path(path))
        return reply

    return handle
