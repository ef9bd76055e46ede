"""One wake cycle: read, decide, build frames, send, update state.

The cycle never raises for expected failures (a sensor, the link, the flash); it returns
``healthy=False`` instead, and the caller then does not feed the watchdog.
"""

from epnode import FW_VERSION, frames, schedule, sensors
from epnode.state import next_seq

RETRY_SLEEP_S = 30


class Node:
    """Everything a cycle needs, built once per boot by ``epnode.app.boot``."""

    def __init__(self, board, cfg: dict, provisioned: bool, cfg_errors: list,
                 pin_sensors: dict, transport, tagkey, store, state, warm: bool) -> None:
        self.board = board
        self.cfg = cfg
        self.provisioned = provisioned
        self.cfg_errors = cfg_errors
        self.pin_sensors = pin_sensors
        self.transport = transport
        self.tagkey = tagkey
        self.store = store
        self.state = state
        self.warm = warm
        self.sensor_errors: list = []
        self.frames_sent = 0

    def wake_pins(self) -> list:
        """(pin, active level) of digital sensors that should wake the node (PIR, tamper...)."""
        out = []
        for name in self.cfg["sensors"]:
            spec = self.pin_sensors[name]
            if spec.get("wake"):
                out.append((self.cfg["pins"].get(name, spec["pin"]), spec.get("active", 1)))
        return out

    def _send(self, ftype: int, payload: bytes) -> bool:
        try:
            seq = next_seq(self.state, self.store, self.cfg["seq_block"])
        except OSError:
            # Without a persisted ceiling the number could be reused after power loss.
            return False
        frame = frames.build(ftype, self.cfg["node_id"], seq, payload, self.tagkey)
        ok = self.transport.send(frame)
        if ok:
            self.frames_sent += 1
        return ok

    def cycle(self) -> tuple:
        """Run one cycle; return (healthy, frames_sent, sleep_ms)."""
        cfg = self.cfg
        self.frames_sent = 0
        if not self.provisioned:
            return True, 0, cfg["wake_interval_s"] * 1000
        ok = True
        st = self.state
        if not self.warm:
            flags = 0
            if self.cfg_errors:
                flags |= frames.F_CONFIG_FALLBACK
            if st.seq:
                flags |= frames.F_SEQ_FROM_FLASH
            if st.failures:
                flags |= frames.F_LAST_CYCLE_FAILED
            cause = self.board.wake_cause()
            ok = self._send(frames.T_STATUS, frames.status_payload(cause, flags, FW_VERSION))
            if ok:
                self.warm = True  # report the boot once, even if later frames fail

        values, self.sensor_errors = sensors.read_all(self.board, cfg, self.pin_sensors)
        if self.sensor_errors:
            ok = False

        _bits, changes = schedule.alarm_changes(values, st.alarm_bits, cfg)
        sent_bits = st.alarm_bits
        for i in range(0, len(changes), frames.MAX_ALARMS):
            chunk = changes[i:i + frames.MAX_ALARMS]
            if self._send(frames.T_ALARM, frames.alarm_payload(chunk)):
                for kind, raised, _ in chunk:
                    mask = 1 << kind
                    sent_bits = sent_bits | mask if raised else sent_bits & ~mask
            else:
                ok = False
        # Only alarms that went out are remembered, so a lost one is resent next wake.
        st.alarm_bits = sent_bits
        now = self.board.now_s()
        if schedule.readings_due(now, st.last_report_s, values, st.last_values, cfg):
            items = sorted(values.items())[:frames.MAX_READINGS]
            if self._send(frames.T_READINGS, frames.readings_payload(items)):
                st.last_report_s = now
                st.last_values = dict(items)
            else:
                ok = False

        st.failures = 0 if ok else min(st.failures + 1, 255)
        sleep_s = cfg["wake_interval_s"] if ok else min(cfg["wake_interval_s"], RETRY_SLEEP_S)
        return ok, self.frames_sent, sleep_s * 1000
