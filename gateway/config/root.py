"""The whole gateway configuration: one section per concern."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from gateway.config.base import StrictModel
from gateway.config.demo import DemoConfig
from gateway.config.device import DeviceConfig
from gateway.config.health import HealthConfig
from gateway.config.mqtt import MqttConfig
from gateway.config.spool import SpoolConfig
from gateway.events.topics import NAME_RE
from gateway.sensors.config import SensorsConfig
from gateway.vision.config import VisionCameraConfig


class GatewayConfig(StrictModel):
    """Root of the TOML file. Every section is optional; no section turns the demo source on."""

    device: DeviceConfig = Field(default_factory=DeviceConfig, description="Identity and place.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection.")
    spool: SpoolConfig = Field(default_factory=SpoolConfig, description="Durable event spool.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Health reports.")
    demo: DemoConfig = Field(default_factory=DemoConfig, description="Synthetic demo events.")
    cameras: dict[str, VisionCameraConfig] = Field(
        default_factory=dict,
        description="Cameras by name ([cameras.<name>]): source, detector, motion gate, "
        "tracker, zones and lines. The name appears in events as `camera`.")
    sensors: SensorsConfig = Field(
        default_factory=SensorsConfig,
        description="Serial sensor readers: node links (radio/UART), GPS, Modbus RTU buses.")

    @field_validator("cameras")
    @classmethod
    def _camera_names(cls, value: dict[str, VisionCameraConfig]) -> dict[str, VisionCameraConfig]:
        for name in value:
            if not NAME_RE.match(name):
                raise ValueError(f"camera name {name!r}: use lower-case letters, digits, - or _")
        return value

    @model_validator(mode="after")
    def _replay_state_beside_spool(self) -> GatewayConfig:
        # A node link without a saved replay window would accept recorded frames again
        # after every restart, so a gateway always keeps one, in its state folder.
        for link in self.sensors.node_links:
            if link.replay_state_file is None:
                link.replay_state_file = self.spool.path.parent / f"replay-{link.name}.json"
        return self
