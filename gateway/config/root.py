"""The whole gateway configuration: one section per concern."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator, model_validator

from gateway.clips.config import ClipStoreConfig
from gateway.config.demo import DemoConfig
from gateway.config.device import DeviceConfig
from gateway.config.health import HealthConfig
from gateway.config.mqtt import MqttConfig
from gateway.config.spool import SpoolConfig
from gateway.config.web import WebConfig
from gateway.events.fields import MAX_TEXT
from gateway.events.topics import NAME_RE
from gateway.sensors.config import SensorsConfig
from gateway.strict import ReadOnlyDict, StrictModel, revalidated
from gateway.vision.config import VisionCameraConfig
from gateway.vision.schedule import SiteConfig

#: the longest camera name: its faults name it as ``camera/<name>`` in an event text field
MAX_CAMERA_NAME = MAX_TEXT - len("camera/")


class GatewayConfig(StrictModel):
    """Root of the TOML file. Every section is optional; no section turns the demo source on."""

    device: DeviceConfig = Field(default_factory=DeviceConfig, description="Identity and place.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection.")
    spool: SpoolConfig = Field(default_factory=SpoolConfig, description="Durable event spool.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Health reports.")
    demo: DemoConfig = Field(default_factory=DemoConfig, description="Synthetic demo events.")
    cameras: ReadOnlyDict[str, VisionCameraConfig] = Field(
        default_factory=dict,
        description="Cameras by name ([cameras.<name>]): source, detector, motion gate, "
        "tracker, zones and lines. The name appears in events as `camera`: lower-case letters, "
        f"digits, '-' or '_', at most {MAX_CAMERA_NAME} characters.")
    sensors: SensorsConfig = Field(
        default_factory=SensorsConfig,
        description="Serial sensor readers: node links (radio/UART), GPS, Modbus RTU buses.")
    site: SiteConfig = Field(
        default_factory=SiteConfig,
        description="Site time zone and alert levels (active hours, level schedule).")
    clips: ClipStoreConfig = Field(
        default_factory=ClipStoreConfig, description="Evidence clip store: folder and bounds.")
    web: WebConfig = Field(
        default_factory=WebConfig,
        description="The gateway's own status page and /metrics (off by default; loopback only).")

    @field_validator("cameras")
    @classmethod
    def _camera_names(
        cls, value: Mapping[str, VisionCameraConfig]
    ) -> Mapping[str, VisionCameraConfig]:
        for name in value:
            if not NAME_RE.match(name):
                raise ValueError(f"camera name {name!r}: use lower-case letters, digits, - or _")
            if len(name) > MAX_CAMERA_NAME:
                # a camera's faults name it as "camera/<name>" in a text field of MAX_TEXT
                raise ValueError(f"camera name {name!r}: at most {MAX_CAMERA_NAME} characters "
                                 f"(its faults travel as camera/<name>, at most {MAX_TEXT})")
        return value

    @model_validator(mode="after")
    def _camera_levels_declared_by_site(self) -> GatewayConfig:
        for name, cam in self.cameras.items():
            unknown = sorted(cam.levels_used() - set(self.site.levels))
            if unknown:
                raise ValueError(f"camera {name!r} names alert levels {unknown} that [site] "
                                 f"levels {list(self.site.levels)} does not declare")
        return self

    @model_validator(mode="after")
    def _replay_state_beside_spool(self) -> GatewayConfig:
        # A node link without a saved replay window would accept recorded frames again
        # after every restart, so a gateway always keeps one, in its state folder. The
        # models are frozen: the filled-in links go into a new, re-validated sensors section.
        if all(link.replay_state_file is not None for link in self.sensors.node_links):
            return self
        links = tuple(
            link if link.replay_state_file is not None else link.model_copy(
                update={"replay_state_file": self.spool.path.parent / f"replay-{link.name}.json"})
            for link in self.sensors.node_links
        )
        return self.model_copy(update={"sensors": revalidated(self.sensors, node_links=links)})
