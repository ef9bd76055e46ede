# ruff: noqa: E501 - field descriptions are the documentation; one line each
"""The rig description file (TOML): which devices are under test and where their resources
are. Strict: unknown keys are errors, every field is described (``python -m
hil_tests.rig.model`` prints the reference).

Resources say *where* a thing is (a serial port, a relay channel, a video file, a host);
the drivers in this package say *how* to use it. A rig file names resources only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from gateway.strict import StrictModel
from gateway.textfile import read_toml

REPO = Path(__file__).resolve().parents[2]


class Strict(StrictModel):
    """Base of every rig model: the gateway's one strict, frozen configuration base."""


class RigInfo(Strict):
    """What this rig is."""

    name: str = Field(description="Short rig name, shown in the report.")
    description: str = Field(default="", description="Free text: where the rig stands, who owns it.")


class LocalBrokerSpec(Strict):
    """A private mosquitto the suite starts on this machine (can be stopped for outages)."""

    kind: Literal["local"] = Field(description="local: started and stopped by the suite.")
    port: int = Field(default=0, ge=0, le=65535, description="Listen port on 127.0.0.1; 0 picks a free one.")
    persistence: bool = Field(default=True, description="Keep sessions and queued messages across a broker restart (an outage).")


class ExternalBrokerSpec(Strict):
    """A broker that already runs (e.g. the lab's mosquitto or EMQX)."""

    kind: Literal["external"] = Field(description="external: the suite only connects.")
    host: str = Field(description="Broker host name or address, reachable from the test host and the gateway.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (plain MQTT).")
    stop_command: str | None = Field(default=None, description="Shell command that makes the broker unreachable (outage scenario); none: that scenario is skipped.")
    start_command: str | None = Field(default=None, description="Shell command that ends the outage.")


BrokerSpec = Annotated[LocalBrokerSpec | ExternalBrokerSpec, Field(discriminator="kind")]


class ProcessGatewaySpec(Strict):
    """The gateway as a process on this machine: ``python -m gateway gateway run -c FILE``."""

    kind: Literal["process"] = Field(description="process: started, stopped and killed by PID.")
    device_id: str = Field(default="gw-hil", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Device id of the gateway under test (MQTT client id and topic level).")
    python: str | None = Field(default=None, description="Python interpreter to run it with; none: the one running the suite.")
    health_interval_s: float = Field(default=1.0, gt=0, description="Health report period used in the test configuration.")
    start_timeout_s: float = Field(default=30.0, gt=0, description="How long a start may take until the gateway reports online.")


class SshGatewaySpec(Strict):
    """A real gateway (a Pi) reached over ssh, running the systemd unit."""

    kind: Literal["ssh"] = Field(description="ssh: controlled with systemctl over ssh.")
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Device id configured on that gateway.")
    host: str = Field(description="ssh destination, e.g. pi@cp-north-1.lab.")
    unit: str = Field(default="edgepost-gateway.service", description="systemd unit of the gateway.")
    config_path: str = Field(default="/etc/edgepost/gateway.toml", description="Configuration file on the gateway (the suite does not rewrite it).")
    key_file: str = Field(default="/etc/edgepost/nodes.toml", description="Node key file on the gateway, written when a node is provisioned.")
    power: PowerSpec | None = Field(default=None, description="Power switch of the Pi itself (gateway power-cut scenario); none: kill -9 of the service instead.")
    start_timeout_s: float = Field(default=90.0, gt=0, description="How long a (re)boot may take until the gateway reports online.")


class PtyLinkSpec(Strict):
    """A simulated serial link: a pty pair, node writes one end, the gateway reads the other."""

    kind: Literal["pty"] = Field(description="pty: created by the suite.")
    baudrate: int = Field(default=9600, gt=0, description="Line speed the node's writes are paced at (10 bits per byte).")


class SerialLinkSpec(Strict):
    """A real UART / radio modem link between a node and the gateway."""

    kind: Literal["serial"] = Field(description="serial: a port on the gateway.")
    gateway_port: str = Field(description="The gateway's end, e.g. /dev/serial/by-id/usb-FTDI_...-if00-port0 (stable across replugs).")
    baudrate: int = Field(default=9600, gt=0, description="Line speed configured on both ends.")
    noise_port: str | None = Field(default=None, description="A port on the test host wired onto the same line (through a diode-OR), to inject noise; none: the noise scenario is skipped.")


LinkSpec = Annotated[PtyLinkSpec | SerialLinkSpec, Field(discriminator="kind")]


class SimulatedPowerSpec(Strict):
    """Power of a simulated node: on = its VM process runs, off = SIGKILL."""

    kind: Literal["simulated"] = Field(description="simulated: the node's VM process.")


class UsbRelayPowerSpec(Strict):
    """A USB HID relay board (the `usbrelay` tool) switching the device's supply."""

    kind: Literal["usb-relay"] = Field(description="usb-relay: e.g. a DCTTECH 2-channel board.")
    relay: str = Field(description="Relay id as `usbrelay` lists it, e.g. 'HURTM_1'.")
    active_on: bool = Field(default=True, description="True: relay energised = device powered (NO contact).")
    off_time_s: float = Field(default=2.0, gt=0, description="How long a power-cycle keeps the supply off (capacitors drain).")


class GpioPowerSpec(Strict):
    """A GPIO line (libgpiod `gpioset`) driving a MOSFET or relay in the device's supply."""

    kind: Literal["gpio"] = Field(description="gpio: a line on a gpiochip of the test host.")
    chip: str = Field(default="gpiochip0", description="gpiochip name or path.")
    line: int = Field(ge=0, description="Line offset on the chip.")
    active_high: bool = Field(default=True, description="True: line high = device powered.")
    off_time_s: float = Field(default=2.0, gt=0, description="How long a power-cycle keeps the supply off.")


class NoPowerSpec(Strict):
    """No power switch: power scenarios are skipped for this device (reported as skipped)."""

    kind: Literal["none"] = Field(description="none: the rig cannot switch this device.")


PowerSpec = Annotated[SimulatedPowerSpec | UsbRelayPowerSpec | GpioPowerSpec | NoPowerSpec,
                      Field(discriminator="kind")]


class VmConsoleSpec(Strict):
    """The simulated node's console is its VM's stdout."""

    kind: Literal["vm"] = Field(description="vm: lines the simulated board prints.")


class SerialConsoleSpec(Strict):
    """A real board's USB console (REPL / debug UART)."""

    kind: Literal["serial"] = Field(description="serial: read with pyserial.")
    port: str = Field(description="Console port on the test host, e.g. /dev/serial/by-id/usb-Silicon_Labs_CP2102...")
    baudrate: int = Field(default=115200, gt=0, description="Console line speed.")


ConsoleSpec = Annotated[VmConsoleSpec | SerialConsoleSpec, Field(discriminator="kind")]


class FileStimulusSpec(Strict):
    """Simulated sensor inputs: a JSON file of pin levels and millivolts the sim board reads."""

    kind: Literal["file"] = Field(description="file: written by the suite.")
    adc_mv: dict[str, int] = Field(default_factory=dict, description="Resting ADC inputs by pin number (millivolts).")


class GpioStimulusSpec(Strict):
    """Real sensor inputs driven by test-host GPIO lines (e.g. into the PIR input)."""

    kind: Literal["gpio"] = Field(description="gpio: lines on a gpiochip of the test host.")
    chip: str = Field(default="gpiochip0", description="gpiochip name or path.")
    lines: dict[str, int] = Field(description="Sensor name -> line offset that drives the node's input, e.g. {pir = 5}.")


StimulusSpec = Annotated[FileStimulusSpec | GpioStimulusSpec, Field(discriminator="kind")]


class NodeSpec(Strict):
    """One sensor node under test."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Node name (events carry it as `node`).")
    node_id: int = Field(ge=1, le=65534, description="Node-link id written into node.json and the gateway key file.")
    board: Literal["esp32", "pico_w"] = Field(default="esp32", description="Board pin map.")
    kind: Literal["simulated", "hardware"] = Field(description="simulated: firmware on the MicroPython VM; hardware: a real board.")
    sensors: list[str] = Field(default_factory=lambda: ["pir", "battery", "temperature"], description="Sensors enabled in node.json (names of the board pin map).")
    wake_interval_s: int = Field(default=5, ge=5, description="node.json wake_interval_s.")
    report_interval_s: int = Field(default=10, ge=10, description="node.json report_interval_s.")
    seq_block: int = Field(default=16, ge=16, description="node.json seq_block: how many numbers a power cut may skip.")
    card_reader: Literal["em4100", "nfc_uid"] | None = Field(default=None, description="node.json card_reader: the patrol card reader on the board's card UART (simulated nodes: fed by node.feed_card()).")
    position: tuple[float, float] | None = Field(default=None, description="(lat, lon) enrolled for the node in the gateway's key file; its events carry it.")
    time_scale: float = Field(default=0.05, gt=0, le=1, description="Simulated nodes: real seconds per node second of deep sleep.")
    link: LinkSpec = Field(description="The node's UART to the gateway.")
    console: ConsoleSpec = Field(description="Where node.expect() reads.")
    power: PowerSpec = Field(description="How the rig switches the node's supply.")
    stimulus: StimulusSpec = Field(description="How the rig sets the node's sensor inputs.")

    @model_validator(mode="after")
    def _consistent(self) -> NodeSpec:
        if self.kind == "simulated":
            want = (PtyLinkSpec, VmConsoleSpec, SimulatedPowerSpec, FileStimulusSpec)
            got = (self.link, self.console, self.power, self.stimulus)
            for w, g in zip(want, got, strict=True):
                if not isinstance(g, w):
                    raise ValueError(f"node {self.name}: a simulated node needs "
                                     f"{w.model_fields['kind'].annotation} resources, got kind "
                                     f"{g.kind!r}")
        elif isinstance(self.link, PtyLinkSpec) or isinstance(self.console, VmConsoleSpec):
            raise ValueError(f"node {self.name}: a hardware node needs a serial link and console")
        return self


class CameraSpec(Strict):
    """A camera (or the video stimulus standing in for one)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$", description="Camera name in the gateway configuration and events.")
    kind: Literal["video", "mjpeg", "device", "picamera2", "rtsp"] = Field(description="video: a file read as a camera; mjpeg: the suite serves a video file as an HTTP MJPEG camera it can unplug; device: a V4L2 camera (/dev/videoN); picamera2: the Pi camera; rtsp: an IP camera URL.")
    video: str | None = Field(default=None, description="video/mjpeg: the stimulus file, relative to the shared data folder ($EDGEPOST_SHARED, default <repo>/../shared) or absolute.")
    uri: str | None = Field(default=None, description="device/picamera2/rtsp: the source uri as in [cameras.<name>.source].")
    fps: float = Field(default=10.0, gt=0, description="mjpeg: frames per second served.")
    power: PowerSpec | None = Field(default=None, description="device/rtsp: a switch that unplugs the camera (USB hub port relay, PoE port); none: the replug scenario is skipped for it.")
    role: Literal["vehicles", "replug", "both"] = Field(default="both", description="Which scenarios use it: vehicles (plate events), replug (unplug/plug back), both.")

    @model_validator(mode="after")
    def _source(self) -> CameraSpec:
        if self.kind in ("video", "mjpeg") and not self.video:
            raise ValueError(f"camera {self.name}: kind {self.kind} needs `video`")
        if self.kind in ("device", "picamera2", "rtsp") and not self.uri:
            raise ValueError(f"camera {self.name}: kind {self.kind} needs `uri`")
        return self


class DetectorSpec(Strict):
    """The detector the rig's camera configurations use."""

    model: str = Field(default="models/coco_ssd_mobilenet_v1/detect.tflite", description="Model file, relative to the shared data folder or absolute.")
    labels: str = Field(default="models/coco_ssd_mobilenet_v1/labelmap.txt", description="Label map, relative to the shared data folder or absolute.")


class TimingSpec(Strict):
    """Time bounds the scenarios assert (a real rig may need looser ones)."""

    alarm_latency_s: float = Field(default=5.0, gt=0, description="PIR input change -> sensor_alarm at the broker.")
    broker_outage_s: float = Field(default=60.0, ge=60, description="Length of the broker outage (at least 60 s).")
    drain_timeout_s: float = Field(default=60.0, gt=0, description="How long the backlog may take to arrive after an outage.")
    camera_off_s: float = Field(default=3.0, gt=0, description="How long a camera stays unplugged.")


class RigSpec(Strict):
    """A whole rig: devices under test and their resources."""

    rig: RigInfo = Field(description="Name and description.")
    broker: BrokerSpec = Field(description="The MQTT broker the gateway publishes to.")
    gateway: ProcessGatewaySpec | SshGatewaySpec = Field(discriminator="kind", description="The gateway under test and its host.")
    nodes: list[NodeSpec] = Field(min_length=1, description="Sensor nodes under test; the first is the `node` fixture.")
    cameras: list[CameraSpec] = Field(default_factory=list, description="Cameras or video stimuli.")
    detector: DetectorSpec = Field(default_factory=DetectorSpec, description="Detector for the camera configurations.")
    timing: TimingSpec = Field(default_factory=TimingSpec, description="Time bounds of the scenarios.")

    @model_validator(mode="after")
    def _unique(self) -> RigSpec:
        for what, names in (("node name", [n.name for n in self.nodes]),
                            ("node_id", [n.node_id for n in self.nodes]),
                            ("camera name", [c.name for c in self.cameras])):
            dup = {x for x in names if names.count(x) > 1}
            if dup:
                raise ValueError(f"duplicate {what}: {sorted(dup)}")
        return self

    @property
    def simulated(self) -> bool:
        """True when nothing on this rig is hardware."""
        return (isinstance(self.gateway, ProcessGatewaySpec) and isinstance(self.broker, LocalBrokerSpec)
                and all(n.kind == "simulated" for n in self.nodes))


SshGatewaySpec.model_rebuild()


class RigFileError(ValueError):
    """The rig file is missing, not TOML, or does not match the model."""


def load_rig(path: Path) -> RigSpec:
    """Read and validate a rig file; errors name the file and the offending keys."""
    try:
        data = read_toml(path, RigFileError)
    except FileNotFoundError as exc:
        raise RigFileError(f"{path}: {exc.strerror}") from None
    try:
        return RigSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: invalid rig description:"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise RigFileError("\n".join(lines)) from None


def shared_dir() -> Path:
    """``$EDGEPOST_SHARED``, else ``<repo>/../shared`` (models and media, read in place)."""
    return Path(os.environ.get("EDGEPOST_SHARED") or REPO.parent / "shared")


def shared_path(p: str) -> Path:
    """A rig path: absolute as is, else relative to the shared data folder."""
    path = Path(p)
    return path if path.is_absolute() else shared_dir() / path


def reference() -> str:
    """Markdown reference of every rig-file table and key (from the field descriptions)."""
    out: list[str] = []
    seen: set[type] = set()

    def walk(model: type[BaseModel], title: str) -> None:
        if model in seen:
            return
        seen.add(model)
        out.append(f"### {title} — {model.__doc__.strip().splitlines()[0] if model.__doc__ else ''}\n")
        out.append("| key | meaning |\n|---|---|")
        for name, f in model.model_fields.items():
            out.append(f"| `{name}` | {f.description} |")
        out.append("")

    for m in (RigInfo, LocalBrokerSpec, ExternalBrokerSpec, ProcessGatewaySpec, SshGatewaySpec,
              NodeSpec, PtyLinkSpec, SerialLinkSpec, VmConsoleSpec, SerialConsoleSpec,
              SimulatedPowerSpec, UsbRelayPowerSpec, GpioPowerSpec, NoPowerSpec,
              FileStimulusSpec, GpioStimulusSpec, CameraSpec, DetectorSpec, TimingSpec):
        walk(m, m.__name__)
    return "\n".join(out)


if __name__ == "__main__":
    print(reference())
