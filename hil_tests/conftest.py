"""Fixtures of the HIL suite: rig, broker, events, gateway, node, strategy.

The rig file comes from ``--rig FILE``, else ``$EDGEPOST_HIL_RIG``, else the simulated rig
(hil_tests/rigs/simulated.toml), so plain ``pytest hil_tests`` runs in CI.
Everything a test starts is stopped by PID when it ends; on a failure the gateway log and
the node console tails are printed with the report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_tests.rig.broker_external import ExternalBroker
from hil_tests.rig.broker_local import LocalBroker
from hil_tests.rig.events_probe import EventsProbe
from hil_tests.rig.model import RigFileError, RigSpec, load_rig
from hil_tests.rig.node_base import NodeDriver
from hil_tests.rig.rig import Gateway, Rig
from hil_tests.rig.strategy import RigStrategy

HERE = Path(__file__).resolve().parent
DEFAULT_RIG = HERE / "rigs" / "simulated.toml"
RIG_ENV = "EDGEPOST_HIL_RIG"


PLATES_ENV = "EDGEPOST_HIL_PLATES"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--rig", default=None,
                     help=f"HIL rig description file (default ${RIG_ENV}, else {DEFAULT_RIG})")
    parser.addoption("--hil-plates", choices=("run", "deselect"), default=None,
                     help="needs_plates scenarios: run them (default), or deselect them on a "
                     f"rig without a plate-capable camera (and say so). Default ${PLATES_ENV}.")


def _plates_mode(config: pytest.Config) -> str:
    return config.getoption("--hil-plates", None) or os.environ.get(PLATES_ENV) or "run"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _plates_mode(config) == "run":
        return
    drop = [i for i in items if i.get_closest_marker("needs_plates")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]
        config.stash[_DESELECTED] = [i.nodeid for i in drop]


_DESELECTED = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    dropped = terminalreporter.config.stash.get(_DESELECTED, [])
    if dropped:
        terminalreporter.write_sep("-", "HIL scenarios deselected (needs_plates)", yellow=True)
        for nodeid in dropped:
            terminalreporter.write_line(
                f"DESELECTED {nodeid}: deselected on request (--hil-plates=deselect or "
                f"{PLATES_ENV}=deselect); this rig's plate reading is not checked")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_plates: needs a camera or stimulus with readable plates; a rig "
        "without one can deselect it with --hil-plates=deselect")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _failed(request: pytest.FixtureRequest) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture(scope="session")
def rig_spec(request: pytest.FixtureRequest) -> RigSpec:
    path = request.config.getoption("--rig", None) or os.environ.get(RIG_ENV) or DEFAULT_RIG
    try:
        return load_rig(Path(path))
    except RigFileError as exc:
        pytest.exit(str(exc), returncode=4)


@pytest.fixture
def rig(rig_spec: RigSpec, tmp_path: Path) -> Iterator[Rig]:
    """The rig for one test: its resources, made on demand and all closed afterwards."""
    r = Rig(rig_spec, tmp_path)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def broker(rig: Rig) -> LocalBroker | ExternalBroker:
    """The rig's broker, running; ``broker.stop()``/``start()`` make an outage."""
    b = rig.make_broker()
    b.start()
    return b


@pytest.fixture
def events(rig: Rig, broker: LocalBroker | ExternalBroker) -> EventsProbe:
    """A subscriber to everything the gateway under test publishes (events, state, health)."""
    return rig.make_events(broker)


@pytest.fixture
def gateway(request: pytest.FixtureRequest, rig: Rig, broker: LocalBroker | ExternalBroker,
            events: EventsProbe) -> Iterator[Gateway]:
    """The gateway under test, configured for the rig, not yet started (``start()``)."""
    gw = rig.make_gateway(broker, events)
    yield gw
    if _failed(request):
        print(f"\n----- gateway log tail -----\n{gw.log_tail()}")
        print(f"----- last health -----\n{events.latest_health()}")


@pytest.fixture
def node(request: pytest.FixtureRequest, rig: Rig, gateway: Gateway) -> Iterator[NodeDriver]:
    """The rig's first node, provisioned (node.json + the gateway's key file), powered off.

    Provisioning writes the key into the gateway's node key file directly: the provisioning
    tool (issue 5) is not available yet.
    """
    n = rig.make_node()
    n.provision(rig.keyfile)
    yield n
    if _failed(request):
        print(f"\n----- node {n.name} console tail -----\n" + "\n".join(n.console.lines[-40:]))


@pytest.fixture
def strategy(gateway: Gateway, node: NodeDriver) -> RigStrategy:
    """Brings gateway and node into a named state: ``strategy.transition("node_asleep")``
    (states in hil_tests/rig/strategy.py); starts from ``off``, where the fixtures leave them."""
    return RigStrategy(gateway, node)
