"""Deliver a node key (or its revocation) to the running gateway and wait for the node's first frame.

Why: a node is enrolled only when its gateway accepts its frames. The key is written to the
site's copy of the gateway's key file on the laptop, but the gateway checks frames against
its own file on the Pi; this module sends the key there over the key channel
(:mod:`provisioning.keychannel`, ``cmd/node_key``: sealed for that gateway, signed by the site
CA, never in clear on the broker), then watches the broker as a subscriber until the node's
first authenticated frame arrives as a ``node_status`` event (the node sends STATUS at boot).

Contract: :func:`deliver` returns the gateway's reply or raises :class:`DeliveryError` naming
exactly what is missing (broker unreachable, gateway offline or silent, key refused and why);
:meth:`FrameWatch.wait` returns the event or raises :class:`DeliveryError` ("no frame within
N s" with what to check).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.ca import load_ca
from provisioning.inventory import Inventory
from provisioning.keychannel import NodeKeyMessage, seal
from provisioning.site import Site

CONNECT_WAIT_S = 10.0  # a reachable broker accepts a TLS connection well within this
REPLY_WAIT_S = 10.0  # the gateway answers cmd/node_key in milliseconds; this covers a slow Pi


class DeliveryError(RuntimeError):
    """The key did not reach the gateway, or the node was not heard; ``str()`` says which and why."""


@dataclass(frozen=True)
class BrokerAccess:
    """How the technician's laptop reaches the site broker: an operator identity of the site."""

    host: str
    port: int
    cafile: Path
    cert: Path
    key: Path
    prefix: str = "edgepost/v1"


def operator_access(site: Site, operator: str | None, broker: str | None, gateway: str,
                    prefix: str = "edgepost/v1") -> BrokerAccess:
    """The operator identity (``--via``, else the site's only operator) and the broker address
    (``--broker HOST:PORT``, else the one recorded when the gateway was provisioned)."""
    with Inventory(site.inventory_path) as inv:
        if operator is None:
            ops = [d.name for d in inv.list("subscriber", status="active")
                   if (d.details or {}).get("role") == "operator"]
            if len(ops) != 1:
                raise DeliveryError(
                    "cannot send the key to the gateway: name the operator identity to send it "
                    "with, --via NAME " + (f"(one of {', '.join(sorted(ops))})" if ops else
                                           "(make one: edgepost provision subscriber NAME --operator)")
                    + ", or enrol offline with --no-deliver")
            operator = ops[0]
        gw = inv.get("gateway", gateway)
        recorded = (gw.details or {}).get("broker") if gw else None
    address = broker or recorded
    if not address:
        raise DeliveryError(f"no broker address for gateway {gateway}: give --broker HOST:PORT")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DeliveryError(f"--broker {address!r}: use HOST:PORT")
    d = site.subscriber_dir(operator)
    access = BrokerAccess(host, int(port), site.ca_dir / "ca.pem", d / f"{operator}.pem",
                          d / f"{operator}.key", prefix)
    for p in (access.cert, access.key):
        if not p.is_file():
            raise DeliveryError(f"operator identity {operator!r} has no {p.name} in {d}: "
                                f"edgepost provision subscriber {operator} --operator")
    return access


def seal_for(site: Site, gateway: str, node_id: int, action: str, key: bytes | None = None,
             name: str | None = None) -> bytes:
    """The sealed ``cmd/node_key`` argument for ``gateway`` (its certificate, the site CA key)."""
    cert = site.gateway_dir(gateway) / f"{gateway}.pem"
    if not cert.is_file():
        raise DeliveryError(f"no certificate for gateway {gateway} in {cert.parent}: "
                            f"edgepost provision gateway {gateway} ...")
    ca = load_ca(site.ca_dir)
    return seal(NodeKeyMessage(gateway, node_id, action, key, name), cert.read_bytes(), ca.key)


def _args(access: BrokerAccess, gateway: str) -> argparse.Namespace:
    return argparse.Namespace(host=access.host, port=access.port, prefix=access.prefix, username=None,
                              password_file=None, cafile=access.cafile, cert=access.cert,
                              key=access.key, device=gateway, command="node_key")


def deliver(access: BrokerAccess, gateway: str, sealed: bytes, timeout_s: float = REPLY_WAIT_S
            ) -> dict[str, Any]:
    """Send ``cmd/node_key`` to ``gateway``; its reply, or DeliveryError saying what is missing."""
    from gateway.cli.cmd_cmd import CommandClient, _silence

    args = _args(access, gateway)
    client = CommandClient(args)
    try:
        if client.connect(CONNECT_WAIT_S):  # it printed what the broker said
            raise DeliveryError(f"cannot reach the broker {access.host}:{access.port} to send the key "
                                f"to gateway {gateway}")
        got = client.request("node_key", {"sealed": sealed}, timeout_s)
        if got is None:
            raise DeliveryError(f"the key did not reach gateway {gateway}: {_silence(client, args)}")
        doc = got[0]
        if not (isinstance(doc, dict) and doc.get("ok") is True):
            why = doc.get("error") if isinstance(doc, dict) else doc
            raise DeliveryError(f"gateway {gateway} refused the key: {why}")
        return doc
    finally:
        client.close()


class FrameWatch:
    """Subscribes to the gateway's events before the node starts, so its first frame is seen."""

    def __init__(self, access: BrokerAccess, gateway: str, node_label: str) -> None:
        from gateway.subscriber import EventSubscriber, SubscriberOptions

        self.gateway, self.node_label = gateway, node_label
        self._seen = threading.Event()
        self.event: Any = None
        opts = SubscriberOptions(host=access.host, port=access.port, prefix=access.prefix,
                                 device=gateway, ca_file=access.cafile, certfile=access.cert,
                                 keyfile=access.key)
        self.sub = EventSubscriber(opts, self._on_message, lambda problem: None)

    def _on_message(self, msg: Any) -> None:
        ev = msg.event
        if msg.kind != "event" or ev is None or self._seen.is_set():
            return
        # Any event from the node proves its frames are authenticated by the gateway; the
        # first one after boot is its STATUS (node_status).
        if getattr(ev.body, "node", None) == self.node_label:
            self.event = ev
            self._seen.set()

    def start(self) -> FrameWatch:
        self.sub.start()
        if not self.sub.subscribed.wait(CONNECT_WAIT_S):
            problem = self.sub.problem
            self.sub.stop()
            raise DeliveryError(f"cannot subscribe to gateway {self.gateway}'s events on the broker: "
                                f"{problem.message if problem else 'no answer'}")
        return self

    def wait(self, timeout_s: float, progress: Callable[[str], None] | None = None) -> Any:
        """The node's first event, or DeliveryError after ``timeout_s``."""
        t0 = time.monotonic()
        if not self._seen.wait(timeout_s):
            raise DeliveryError(
                f"no frame from {self.node_label} reached the broker through gateway {self.gateway} "
                f"within {timeout_s:g} s: the gateway has the key; check that the node is reset and "
                "powered, wired (or in radio range) to that gateway's node link, and that the "
                "gateway's log shows no frame errors (journalctl -u edgepost-gateway)")
        if progress:
            progress(f"      first frame after {time.monotonic() - t0:.1f} s")
        return self.event

    def close(self) -> None:
        self.sub.stop()
