"""Read the configured sensors through the board and convert to node-link raw units."""

from epnode.debounce import sample_digital
from epnode.quantities import QUANTITY_CODES


def linear(mv: int, m: list) -> int:
    """Map millivolts to raw units through two calibration points [mv0, v0, mv1, v1]."""
    mv0, v0, mv1, v1 = m
    if mv1 == mv0:
        return v0
    return v0 + (mv - mv0) * (v1 - v0) // (mv1 - mv0)


def read_all(board, cfg: dict, pin_sensors: dict) -> tuple:
    """Return ({quantity_code: raw}, errors). A failing sensor is skipped and reported."""
    values = {}
    errors = []
    n = cfg["debounce_samples"]
    for name in cfg["sensors"]:
        spec = pin_sensors[name]
        pin = cfg["pins"].get(name, spec.get("pin"))
        q = QUANTITY_CODES[spec["quantity"]]
        try:
            if spec["type"] == "digital":
                pull = spec.get("pull", "none")
                level = sample_digital(lambda p=pin, u=pull: board.read_digital(p, u), board.sleep_ms, n)
                values[q] = 1 if level == spec.get("active", 1) else 0
            else:
                total = 0
                for _ in range(n):
                    total += board.read_adc_mv(pin)
                values[q] = linear(total // n, spec["map"])
        except Exception as exc:
            errors.append(f"{name}: {exc.__class__.__name__}")
    return values, errors
