"""Typed configuration of the sensor readers (mounted by the gateway config under [sensors]).

Every model forbids unknown keys, so a typo in the TOML is an error at start-up rather than
a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gateway.strict import StrictModel


class SerialPortConfig(StrictModel):
    """A serial port, with the reopen policy used when a USB adapter vanishes."""

    port: str = Field(description="Device path or pyserial URL, e.g. /dev/serial/by-id/... "
                      "(stable across replugs) or loop://.")
    baudrate: int = Field(default=9600, gt=0, description="Line speed in baud.")
    bytesize: Literal[7, 8] = Field(default=8, description="Data bits.")
    parity: Literal["N", "E", "O"] = Field(default="N", description="Parity: N, E or O.")
    stopbits: Literal[1, 2] = Field(default=1, description="Stop bits.")
    read_timeout_s: float = Field(default=0.2, gt=0, le=5,
                                  description="Read timeout; bounds how fast stop() is honoured.")
    reopen_initial_s: float = Field(default=0.5, gt=0,
                                    description="First wait before reopening a lost port.")
    reopen_max_s: float = Field(default=30.0, gt=0,
                                description="Longest wait between reopen attempts (backoff cap).")
    exclusive: bool = Field(default=True,
                            description="Lock the port so no second process reads it.")

    @model_validator(mode="after")
    def _backoff_order(self) -> SerialPortConfig:
        if self.reopen_max_s < self.reopen_initial_s:
            raise ValueError("reopen_max_s must be >= reopen_initial_s")
        return self


class NodeLinkConfig(StrictModel):
    """One node link: a serial/radio port carrying authenticated node-link frames."""

    name: str = Field(default="nodelink", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      description="Name of this link in health counters, records and the "
                      "default replay state file name: letters, digits, _ . -")
    serial: SerialPortConfig = Field(description="Port of the radio modem or wired link.")
    key_file: Path = Field(description="TOML or JSON file mapping node id -> hex key; keep it "
                           "mode 0600. Reloaded when it changes.")
    key_reload_interval_s: float = Field(default=10.0, gt=0,
                                         description="How often the key file is checked for "
                                         "changes.")
    replay_window: int = Field(default=64, ge=1, le=4096,
                               description="Out-of-order frames accepted per node (seq window).")
    replay_state_file: Path | None = Field(
        default=None, description="Where the highest seq per node is saved (fsynced on every "
        "accepted frame that raises it) so that a restart or crash does not re-open old "
        "sequence numbers. Default in a gateway: replay-<name>.json in the spool's folder.")


class GpsConfig(StrictModel):
    """NMEA 0183 GPS receiver on a serial port."""

    serial: SerialPortConfig = Field(description="Port of the GPS receiver (usually 9600 8N1).")
    max_fix_age_s: float = Field(default=10.0, gt=0,
                                 description="A fix older than this is not used for events.")
    min_satellites: int = Field(default=4, ge=0,
                                description="Fewer satellites than this: fix not trusted.")
    time_source: bool = Field(default=True,
                              description="Offer GPS time when the system clock is not "
                              "NTP-synchronised.")


class ModbusRegisterConfig(StrictModel):
    """One value read from an instrument: where it is, how to decode and scale it, limits."""

    name: str = Field(min_length=1, description="Measurement name (SenML n), e.g. water_level.")
    address: int = Field(ge=0, le=65535, description="Register address (0-based, as on the "
                         "wire; datasheet 4xxxx/3xxxx numbers minus the prefix and one).")
    function: Literal["holding", "input"] = Field(default="holding",
                                                  description="Function 3 (holding) or 4 "
                                                  "(input) registers.")
    data_type: Literal["uint16", "int16", "uint32", "int32", "float32"] = Field(
        default="uint16", description="Encoding of the register(s).")
    word_order: Literal["big", "little"] = Field(
        default="big", description="For 32-bit types: big = high word first.")
    scale: float = Field(default=1.0, description="value = raw * scale + offset.")
    offset: float = Field(default=0.0, description="Added after scaling.")
    unit: str = Field(default="", description="SenML unit of the scaled value, e.g. m, Cel.")
    high_limit: float | None = Field(default=None, description="Alarm when value > this.")
    low_limit: float | None = Field(default=None, description="Alarm when value < this.")
    hysteresis: float = Field(default=0.0, ge=0,
                              description="Alarm clears only this far back inside the limit.")


class ModbusInstrumentConfig(StrictModel):
    """A Modbus RTU slave on the bus."""

    name: str = Field(min_length=1, description="Instrument name in records, e.g. flowmeter-1.")
    unit_id: int = Field(ge=1, le=247, description="Modbus slave (unit) address.")
    registers: tuple[ModbusRegisterConfig, ...] = Field(min_length=1,
                                                  description="Values to read each poll.")


class ModbusConfig(StrictModel):
    """A Modbus RTU bus polled by one thread."""

    serial: SerialPortConfig = Field(description="RS-485 adapter of the bus.")
    instruments: tuple[ModbusInstrumentConfig, ...] = Field(min_length=1,
                                                      description="Instruments on this bus.")
    poll_interval_s: float = Field(default=10.0, gt=0, description="Time between polls.")
    timeout_s: float = Field(default=1.0, gt=0, description="Reply timeout per request.")
    retries: int = Field(default=1, ge=0, le=5, description="Retries per request.")


class LivenessConfig(StrictModel):
    """When a node that has gone quiet is reported (``device_fault`` code ``silent``)."""

    silent_after_intervals: float = Field(
        default=3.0, ge=1.0, le=100.0,
        description="A node is silent after this many of its report intervals without an "
        "authenticated, fresh frame; one fault is raised, and cleared (with the gap) by its "
        "next frame. The interval is the registry's interval_s, lengthened by the node's own "
        "STATUS when it runs on a fallback config.")
    default_interval_s: float = Field(
        default=900.0, gt=0, le=7 * 86400,
        description="Interval assumed for a node whose registry entry has no interval_s and "
        "that has sent no STATUS yet (the firmware's default report interval).")
    check_every_s: float = Field(default=1.0, gt=0, le=60,
                                 description="How often silence is checked.")


class NodeBudgetConfig(StrictModel):
    """How many frames one node may have turned into events, so that a broken or stolen node
    cannot crowd the spool, the uplink and the link itself (and with them every camera's and
    other node's events) out."""

    alarms_per_min: float = Field(
        default=60.0, gt=0, le=1_000_000,
        description="Sustained alarm frames per node per minute; above it (past the burst) the "
        "node's alarm frames are dropped and counted, with one device_fault 'flooding' per "
        "episode.")
    others_per_min: float = Field(
        default=30.0, gt=0, le=1_000_000,
        description="Sustained readings, status and check-in frames per node per minute (a "
        "lane of their own, so a node flooding readings still gets its alarms through).")
    burst: int = Field(default=20, ge=1, le=10000,
                       description="Frames a node may send at once above its rate before "
                       "the limit applies (each lane).")


class CheckinConfig(StrictModel):
    """Patrol check-ins at nodes with a card reader: how card ids are hashed, which are known."""

    key_file: Path = Field(
        description="File holding the site card key (raw bytes, at least 16): card ids leave "
        "the gateway only as HMAC-SHA256(key, card)[:16], as plates are hashed. Readable by "
        "the service only.")
    allow_list: Path | None = Field(
        default=None,
        description="Text file of known cards, one card hash per line (32 hex digits, as made "
        "by `python -m gateway.sensors.cards`), # comments. Check-ins then carry known=true or "
        "false (an unknown card is flagged); without a list, known is absent. Reread when it "
        "changes.")


class ClockConfig(StrictModel):
    """Where event time stamps come from: NTP, else GPS, else the free-running clock."""

    ntp: Literal["adjtimex", "synchronized", "unsynchronized"] = Field(
        default="adjtimex",
        description="How the gateway learns whether the system clock is NTP-synchronized: "
        "adjtimex asks the kernel (works under any NTP client); synchronized / unsynchronized "
        "fix the answer (a site known to have no NTP, or a test, since adjtimex cannot be "
        "faked).")
    gps_holdover_s: float = Field(
        default=3600.0, ge=0, le=86400,
        description="After the last GPS time, keep GPS time running on the monotonic clock "
        "this long (drift ~0.2 s per hour) instead of falling back to the untrusted system "
        "clock, so a receiver that drops out for a while does not make time jump back and "
        "forth.")
    jump_threshold_s: float = Field(
        default=2.0, gt=0, le=3600,
        description="A step of the event clock against the monotonic clock larger than this is "
        "a clock jump: logged and reported once (device_fault component clock, code "
        "clock_jump).")


class SensorsConfig(StrictModel):
    """All sensor readers of a gateway (the ``[sensors]`` table)."""

    node_links: tuple[NodeLinkConfig, ...] = Field(default=(),
                                             description="Node-link ports (radios, wired).")
    liveness: LivenessConfig = Field(default_factory=LivenessConfig,
                                     description="Silent-node detection for the node links.")
    budget: NodeBudgetConfig = Field(default_factory=NodeBudgetConfig,
                                     description="Events per node per minute (flood limit).")
    checkin: CheckinConfig | None = Field(
        default=None, description="Patrol check-ins (card readers on nodes); without it a "
        "check-in frame is counted and dropped, since its card id cannot be hashed.")
    clock: ClockConfig = Field(default_factory=ClockConfig,
                               description="Trusted time for event stamps (NTP, GPS, free).")
    gps: GpsConfig | None = Field(default=None, description="GPS receiver, if fitted.")
    modbus: tuple[ModbusConfig, ...] = Field(default=(),
                                       description="Modbus RTU buses, if any.")

    @model_validator(mode="after")
    def _node_link_names_and_state_files_unique(self) -> SensorsConfig:
        # Two links saving one replay file would overwrite each other's sequence numbers.
        names = [link.name for link in self.node_links]
        if len(set(names)) != len(names):
            raise ValueError(f"node link names must be unique (got {names})")
        files = [link.replay_state_file for link in self.node_links
                 if link.replay_state_file is not None]
        if len(set(files)) != len(files):
            raise ValueError("each node link needs its own replay_state_file")
        return self
