"""The private servers' ports stay theirs across a restart.

CI once failed because PostgreSQL, stopped for 20 s in the district test, could not bind its
port again: the port lay in the kernel's ephemeral range, so while the server was down an
outgoing connection (or a client retrying the dead port, connected to itself) held it.
"""

from __future__ import annotations

import socket

from gateway.broker import LocalMosquitto, free_port
from gateway.broker.local import ephemeral_range


def test_free_ports_lie_outside_the_ephemeral_range_and_can_be_bound() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert all(not low <= p <= high for p in ports), (low, high, ports)
    assert all(p >= 10000 for p in ports), ports
    assert len(set(ports)) > 40, "ports are drawn at random so parallel fixtures rarely meet"
    for p in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_a_broker_restarts_on_its_port_after_clients_hammered_it_while_down() -> None:
    broker = LocalMosquitto()
    try:
        broker.start()
        port = broker.port
        broker.stop()
        refused = 0
        for _ in range(2000):  # clients retrying a dead server, as uplinks do during an outage
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    refused += 1
        assert refused == 2000, "something answered on the stopped broker's port"
        broker.start()
        assert broker.port == port
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        broker.close()
