"""Builds the drivers for one test from a rig description (the only place that maps
resource kinds to driver classes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil_tests.rig.broker_external import ExternalBroker
from hil_tests.rig.broker_local import LocalBroker
from hil_tests.rig.events_probe import EventsProbe
from hil_tests.rig.gateway_process import GatewayProcess
from hil_tests.rig.gateway_ssh import SshGateway
from hil_tests.rig.keyfile import NodeKeyFile
from hil_tests.rig.mjpeg_camera import MjpegCamera
from hil_tests.rig.model import (
    CameraSpec,
    GpioPowerSpec,
    LocalBrokerSpec,
    NodeSpec,
    PowerSpec,
    ProcessGatewaySpec,
    PtyLinkSpec,
    RigSpec,
    SerialConsoleSpec,
    UsbRelayPowerSpec,
    shared_path,
)
from hil_tests.rig.node_base import NodeDriver
from hil_tests.rig.node_board import BoardNode
from hil_tests.rig.node_sim import SimulatedNode
from hil_tests.rig.power_gpio import GpioPower
from hil_tests.rig.power_none import NoPower
from hil_tests.rig.pty_link import PtyLink

Broker = LocalBroker | ExternalBroker
Gateway = GatewayProcess | SshGateway


def make_power(spec: PowerSpec | None, device: str) -> Any:
    if isinstance(spec, UsbRelayPowerSpec):
        from hil_tests.rig.power_usbrelay import UsbRelayPower

        return UsbRelayPower(spec)
    if isinstance(spec, GpioPowerSpec):
        return GpioPower(spec)
    return NoPower(device)


class Rig:
    """One test's view of the rig: resources made on demand, everything closed at the end."""

    def __init__(self, spec: RigSpec, workdir: Path) -> None:
        self.spec = spec
        self.workdir = Path(workdir)
        self.keyfile = NodeKeyFile(self.workdir / "nodes.toml")
        self.links: dict[str, PtyLink] = {}
        self._closers: list[Any] = []
        for n in spec.nodes:
            if isinstance(n.link, PtyLinkSpec):
                self.links[n.name] = link = PtyLink(n.link.baudrate)
                self._closers.append(link)

    # -- broker ---------------------------------------------------------------------------
    def make_broker(self) -> Broker:
        b = self.spec.broker
        broker: Broker = (LocalBroker(b, self.workdir / "broker") if isinstance(b, LocalBrokerSpec)
                          else ExternalBroker(b))
        self._closers.append(broker)
        return broker

    def make_events(self, broker: Broker) -> EventsProbe:
        probe = EventsProbe(broker.host, broker.port, self.spec.gateway.device_id).start()
        self._closers.append(probe)
        return probe

    # -- gateway --------------------------------------------------------------------------
    def gateway_config(self, broker: Broker) -> dict[str, Any]:
        """The gateway test configuration: the rig's broker, node links, key file, spool."""
        g = self.spec.gateway
        assert isinstance(g, ProcessGatewaySpec)
        links = []
        for n in self.spec.nodes:
            port = (self.links[n.name].gateway_port if n.name in self.links
                    else n.link.gateway_port)  # type: ignore[union-attr]
            links.append({"name": n.name, "key_file": str(self.keyfile.path),
                          "key_reload_interval_s": 0.5,
                          "replay_state_file": str(self.workdir / f"replay-{n.name}.json"),
                          "serial": {"port": port, "baudrate": n.link.baudrate,
                                     "reopen_initial_s": 0.2, "reopen_max_s": 1.0}})
        return {
            "device": {"id": g.device_id},
            "mqtt": {"host": broker.host, "port": broker.port, "reconnect_min_s": 0.2,
                     "reconnect_max_s": 1.0},
            "spool": {"path": str(self.workdir / "gateway" / "spool.sqlite3")},
            "demo": {"enabled": False},
            "health": {"interval_s": g.health_interval_s},
            # a rig drives its nodes many times faster than any deployed node sends, so the
            # per-node flood budget (gateway/sensors/budget.py) is opened wide here
            "sensors": {"node_links": links,
                        "budget": {"alarms_per_min": 60000, "others_per_min": 60000,
                                   "burst": 10000}},
        }

    def make_gateway(self, broker: Broker, events: EventsProbe) -> Gateway:
        g = self.spec.gateway

        links = [f"nodelink:{link['name']}"
                 for link in self.gateway_config(broker)["sensors"]["node_links"]]

        def wait_online(timeout: float) -> None:
            since = events.mark()
            events.wait_for(lambda p: any(m.kind == "state" and m.document.get("online")
                                          for m in p.messages[since:]), timeout,
                            "gateway state online")
            # Online is not enough: frames a node sends before the gateway has opened its
            # serial port are lost, as on a real UART with no receiver. Wait for the ports.
            def ports_open(p: EventsProbe) -> bool:
                return any(m.kind == "health" and all(
                    m.document.get("sensors", {}).get(name, {}).get("opened", 0) >= 1
                    for name in links) for m in p.messages[since:])

            if links:
                events.wait_for(ports_open, timeout, f"node link ports open ({links})")

        gw: Gateway
        if isinstance(g, ProcessGatewaySpec):
            gw = GatewayProcess(g, self.workdir / "gateway", self.gateway_config(broker),
                                wait_online)
        else:
            gw = SshGateway(g, make_power(g.power, "gateway") if g.power else None, wait_online)
        self._closers.insert(0, gw)  # stopped before the broker goes
        return gw

    # -- nodes ----------------------------------------------------------------------------
    def node_spec(self, name: str | None = None) -> NodeSpec:
        return next(n for n in self.spec.nodes if name is None or n.name == name)

    def make_node(self, name: str | None = None) -> NodeDriver:
        """The node's driver: simulated (VM + pty) or a real board on a serial console."""
        spec = self.node_spec(name)
        node: NodeDriver
        if spec.kind == "simulated":
            node = SimulatedNode(spec, self.links[spec.name], self.workdir / f"node-{spec.name}")
        elif isinstance(spec.console, SerialConsoleSpec):
            node = BoardNode(spec, self.workdir / f"node-{spec.name}",
                             power=make_power(spec.power, f"node {spec.name}"))
        else:
            raise NotImplementedError(f"node {spec.name}: no driver for console kind "
                                      f"{spec.console.kind!r}")
        self._closers.insert(0, node)
        return node

    # -- cameras --------------------------------------------------------------------------
    def camera_spec(self, role: str) -> CameraSpec | None:
        return next((c for c in self.spec.cameras if c.role in (role, "both")), None)

    def make_mjpeg(self, cam: CameraSpec) -> MjpegCamera:
        assert cam.video is not None
        m = MjpegCamera(shared_path(cam.video), fps=cam.fps)
        self._closers.insert(0, m)
        return m

    def detector(self) -> dict[str, Any]:
        return {"model": str(shared_path(self.spec.detector.model)),
                "labels": str(shared_path(self.spec.detector.labels))}

    def close(self) -> None:
        errors = []
        for c in self._closers:
            try:
                c.close()
            except Exception as exc:  # close everything, report the first problem
                errors.append(exc)
        if errors:
            raise errors[0]
