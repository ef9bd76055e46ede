"""Boot and run a node: load pin map and config, restore state, cycle, feed, sleep."""

import json

from epnode import config
from epnode.cardreader import CardParser
from epnode.cycle import Node
from epnode.hmac256 import TagKey
from epnode.state import SeqStore, restore
from epnode.transport import MqttTransport, UartTransport


def load_pin_map(board) -> tuple:
    """Return (pin map dict, error or None) from ``<pins_dir>/<board name>.json``."""
    path = board.pins_dir + board.name + ".json"
    try:
        with open(path) as f:
            return json.load(f), None
    except (OSError, ValueError) as exc:
        fallback = {"sensors": {}, "uart": {"id": 0, "tx": 0, "rx": 1}}
        return fallback, f"pin map {path}: {exc.__class__.__name__}"


def make_transport(board, cfg: dict, pin_map: dict):
    """UART (default) or WiFi MQTT transport as configured."""
    if cfg["transport"] == "mqtt":
        return MqttTransport(lambda: board.open_mqtt(cfg), cfg["mqtt"]["topic"])
    u = pin_map["uart"]
    uart_id = cfg["uart"]["id"] if cfg["uart"]["id"] >= 0 else u["id"]
    return UartTransport(board.open_uart(uart_id, cfg["uart"]["baud"], u["tx"], u["rx"]))


def boot(board) -> Node:
    """Build the Node for this wake. Problems are printed (no key) and fall back safely."""
    pin_map, pin_err = load_pin_map(board)
    pin_sensors = pin_map.get("sensors", {})
    cfg, errors, provisioned = config.load(board.flash_dir + "node.json", pin_sensors)
    if pin_err:
        errors.insert(0, pin_err)
    for e in errors:
        print("config:", e)
    store = SeqStore(board.flash_dir + "seq.bin")
    state, warm = restore(board.retained_read(), store)
    board.wdt_start(cfg["wdt_ms"])
    tagkey = TagKey(cfg["key"]) if provisioned else None
    transport = make_transport(board, cfg, pin_map) if provisioned else None
    node = Node(board, cfg, provisioned, errors, pin_sensors, transport, tagkey, store, state,
                warm)
    if provisioned and cfg["card_reader"]:
        open_card_reader(node, pin_map)
    return node


def open_card_reader(node: Node, pin_map: dict) -> None:
    """Open the pin map's card UART for the configured reader; problems disable it, loudly."""
    spec = pin_map.get("card")
    if not isinstance(spec, dict) or "uart" not in spec:
        node.cfg_errors.append("card_reader: this board's pin map has no card UART; reader off")
        print("config:", node.cfg_errors[-1])
        return
    u = spec["uart"]
    try:
        node.cards = node.board.open_card_reader(u["id"], u.get("baud", 9600), u["tx"], u["rx"])
    except Exception as exc:  # a missing reader must not stop alarms and readings
        node.sensor_errors.append("card_reader: " + exc.__class__.__name__)
        print("card reader:", exc.__class__.__name__)
        return
    node.card_parser = CardParser(node.cfg["card_reader"])
    wake = spec.get("wake")
    if isinstance(wake, dict):
        node.card_wake = (wake["pin"], wake.get("active", 1))


def run(board, max_cycles: int = 0) -> Node:
    """Run cycles until deep sleep resets the chip (ESP32) or ``max_cycles`` are done."""
    node = boot(board)
    done = 0
    while True:
        healthy, _, sleep_ms = node.cycle()
        if healthy:
            board.wdt_feed()
        board.retained_write(node.state.pack())
        if node.transport is not None:
            node.transport.close()
        done += 1
        if max_cycles and done >= max_cycles:
            return node
        board.deep_sleep(sleep_ms, node.wake_pins())
