"""Node configuration: validated at boot, every bad field replaced by a safe default.

The provisioned file is ``node.json`` on the node's flash. A node whose identity (id, key)
is bad cannot authenticate frames, so it runs "unprovisioned": it sends nothing and sleeps
the longest interval, instead of crash-looping and draining its battery.
"""

from epnode.cardreader import FORMATS as CARD_FORMATS
from epnode.quantities import QUANTITY_CODES

BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

DEFAULTS: dict = {
    "transport": "uart",
    "uart": {"id": -1, "baud": 9600},  # id -1: take the board pin map's UART
    "mqtt": None,
    "wake_interval_s": 60,
    "report_interval_s": 900,
    # change (in raw units of the quantity) that makes readings go out before schedule
    "thresholds": {"temperature": 100, "battery": 100, "water_level": 20, "humidity": 500},
    "limits": {"battery_low": 3300, "water_high": 1500, "temperature_high": 6000},
    "hysteresis": {"battery_low": 100, "water_high": 50, "temperature_high": 200},
    "sensors": ["battery"],
    "pins": {},
    "debounce_samples": 3,
    "wdt_ms": 30000,
    "seq_block": 1024,
    # a running node repeats its STATUS this often, so the gateway keeps its boot cause,
    # firmware and interval current even after the gateway restarts
    "status_interval_s": 86400,
    # patrol check-in reader on the pin map's card UART: None, "em4100" or "nfc_uid"
    "card_reader": None,
}

_INT_RANGES = {
    "wake_interval_s": (5, 86400),
    "report_interval_s": (10, 86400),
    "debounce_samples": (1, 15),
    "wdt_ms": (5000, 120000),
    "seq_block": (16, 65536),
    "status_interval_s": (60, 604800),
}

# MicroPython (1.27) has no star-unpacking inside tuple/list displays.
KNOWN = ("node_id", "key", "board") + tuple(DEFAULTS)  # noqa: RUF005


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_map(value, default: dict, name: str, errors: list) -> dict:
    out = dict(default)
    if not isinstance(value, dict):
        errors.append(name + ": not an object")
        return out
    for k in value:
        v = value[k]
        if k not in default or not _is_int(v) or not -32768 <= v <= 32767:
            errors.append(f"{name}.{k}: unknown or not a 16-bit integer")
        else:
            out[k] = v
    return out


def validate(raw, pin_sensors: dict) -> tuple:
    """Return (config dict, list of error strings, provisioned bool).

    ``pin_sensors`` is the board pin map's ``sensors`` table: enabled sensor names must
    exist there. Errors never quote the key.
    """
    errors: list = []
    cfg: dict = {}
    for k in DEFAULTS:
        v = DEFAULTS[k]
        cfg[k] = dict(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v)
    if not isinstance(raw, dict):
        cfg["node_id"], cfg["key"] = 0, None
        cfg["wake_interval_s"] = _INT_RANGES["wake_interval_s"][1]
        return cfg, ["config: not a JSON object"], False
    for k in raw:
        if k not in KNOWN:
            errors.append("unknown field: " + str(k))

    provisioned = True
    node_id = raw.get("node_id")
    if not isinstance(node_id, int) or isinstance(node_id, bool) or not 1 <= node_id <= 0xFFFE:
        errors.append("node_id: must be an integer 1..65534")
        provisioned = False
        node_id = 0
    cfg["node_id"] = node_id
    key = None
    key_hex = raw.get("key")
    if isinstance(key_hex, str) and len(key_hex) % 2 == 0 and 32 <= len(key_hex) <= 128:
        try:
            key = bytes.fromhex(key_hex)
        except ValueError:
            key = None
    if key is None:
        errors.append("key: must be 16..64 bytes of hex")
        provisioned = False
    cfg["key"] = key

    for k in _INT_RANGES:
        if k in raw:
            lo, hi = _INT_RANGES[k]
            v = raw[k]
            if _is_int(v) and lo <= v <= hi:
                cfg[k] = v
            else:
                errors.append(f"{k}: must be an integer {lo}..{hi}")

    for k in ("thresholds", "limits", "hysteresis"):
        if k in raw:
            cfg[k] = _int_map(raw[k], DEFAULTS[k], k, errors)

    if "sensors" in raw:
        s = raw["sensors"]
        if isinstance(s, list) and s and all(isinstance(n, str) and n in pin_sensors for n in s):
            cfg["sensors"] = list(s)
        else:
            errors.append("sensors: must be a non-empty list of names from the pin map")
    cfg["sensors"] = [n for n in cfg["sensors"] if n in pin_sensors]
    for n in cfg["sensors"]:
        if pin_sensors[n].get("quantity") not in QUANTITY_CODES:
            errors.append(f"pin map sensor {n}: unknown quantity")

    if "pins" in raw:
        p = raw["pins"]
        if isinstance(p, dict) and all(k in pin_sensors and _is_int(p[k]) for k in p):
            cfg["pins"] = dict(p)
        else:
            errors.append("pins: must map pin-map sensor names to pin numbers")

    if "uart" in raw:
        u = raw["uart"]
        if isinstance(u, dict) and _is_int(u.get("id", -1)) and u.get("baud", 9600) in BAUDS:
            cfg["uart"] = {"id": u.get("id", -1), "baud": u.get("baud", 9600)}
        else:
            errors.append(f"uart: needs id (int) and baud in {BAUDS}")

    if "card_reader" in raw:
        r = raw["card_reader"]
        if r is None or r in CARD_FORMATS:
            cfg["card_reader"] = r
        else:
            errors.append("card_reader: must be one of " + ", ".join(CARD_FORMATS) + "; reader off")

    t = raw.get("transport", "uart")
    if t == "mqtt":
        m = raw.get("mqtt")
        need = ("ssid", "password", "host", "topic")
        if isinstance(m, dict) and all(isinstance(m.get(f), str) and m.get(f) for f in need) \
                and _is_int(m.get("port", 1883)):
            cfg["transport"] = "mqtt"
            cfg["mqtt"] = {"ssid": m["ssid"], "password": m["password"], "host": m["host"],
                           "port": m.get("port", 1883), "topic": m["topic"]}
        else:
            # Fall back to the UART link: it needs no credentials, so it cannot be wrong.
            errors.append("mqtt: needs ssid, password, host, topic (and int port); using uart")
    elif t != "uart":
        errors.append("transport: must be 'uart' or 'mqtt'; using uart")

    if cfg["report_interval_s"] < cfg["wake_interval_s"]:
        errors.append("report_interval_s < wake_interval_s; using wake_interval_s")
        cfg["report_interval_s"] = cfg["wake_interval_s"]
    if not provisioned:
        cfg["wake_interval_s"] = _INT_RANGES["wake_interval_s"][1]
    return cfg, errors, provisioned


def load(path: str, pin_sensors: dict) -> tuple:
    """Read and validate a config file; a missing or unparsable file is an error, not a crash."""
    import json

    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        cfg, errors, _ = validate({}, pin_sensors)
        errors.insert(0, f"config file {path}: {exc.__class__.__name__}")
        return cfg, errors, False
    return validate(raw, pin_sensors)
