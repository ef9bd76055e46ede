"""One wake cycle: read, decide, build frames, send, update state.

The cycle never raises for expected failures (a sensor, the link, the flash); it returns
``healthy=False`` instead, and the caller then does not feed the watchdog.
"""

from epnode import FW_VERSION, frames, schedule, sensors
from epnode.cardreader import CardParser
from epnode.quantities import A_PANIC, PANIC
from epnode.state import next_seq

RETRY_SLEEP_S = 30
# The link has no return channel, so a panic frame is sent this many times, all with the
# same seq (the gateway's replay window drops the copies): a collision or a burst of noise
# on the radio then costs one copy, not the alarm. Three 25-byte frames are ~80 ms of air
# time at 9600 baud, nothing next to a wake.
PANIC_SENDS = 3
# Gap between copies: long enough that one burst of interference (another node's frame,
# a motor starting) does not hit every copy, short enough that all are out in ~2 s.
PANIC_GAP_MS = 1000
# After a wake by the card line, how long to wait for the reader's frame (an EM4100 frame
# is 15 ms at 9600 baud and readers repeat it while the card is held).
CARD_WAIT_MS = 300
CARD_POLL_MS = 20


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
        # Patrol card reader (set by epnode.app.boot when node.json enables one).
        self.cards: object = None  # with read() -> bytes or None
        self.card_parser: CardParser | None = None
        self.card_wake: tuple | None = None  # (pin, active level) of the reader's wake line
        self._boot_taken = False

    def wake_pins(self) -> list:
        """(pin, active level) of digital sensors that should wake the node (PIR, tamper...)."""
        out = []
        for name in self.cfg["sensors"]:
            spec = self.pin_sensors[name]
            if spec.get("wake"):
                out.append((self.cfg["pins"].get(name, spec["pin"]), spec.get("active", 1)))
        if self.card_wake is not None:
            out.append(self.card_wake)
        return out

    def _send_repeated(self, ftype: int, payload: bytes, times: int, gap_ms: int) -> bool:
        """Send one frame ``times`` times with the same seq; True if any copy went out."""
        try:
            seq = next_seq(self.state, self.store, self.cfg["seq_block"])
        except OSError:
            return False
        frame = frames.build(ftype, self.cfg["node_id"], seq, payload, self.tagkey)
        sent = 0
        for i in range(times):
            if i:
                self.board.sleep_ms(gap_ms)
            if self.transport.send(frame):
                sent += 1
        if sent:
            self.frames_sent += 1
        return sent > 0

    def _panic(self, values: dict) -> bool:
        """Send a panic press at once (repeated); a release is remembered, never sent."""
        pressed = values.pop(PANIC, None)
        if pressed is None:
            return True
        st = self.state
        mask = 1 << A_PANIC
        if not pressed:
            st.alarm_bits &= ~mask  # released: the next press is a new alarm
            return True
        if st.alarm_bits & mask:
            return True  # still held since the press that was sent
        payload = frames.alarm_payload([(A_PANIC, 1, 1)])
        if self._send_repeated(frames.T_ALARM, payload, PANIC_SENDS, PANIC_GAP_MS):
            st.alarm_bits |= mask
            return True
        return False  # not remembered: the next wake sends it again

    def _status(self, now: int) -> bool:
        """STATUS after a cold boot, and every ``status_interval_s`` while running."""
        st = self.state
        if self.warm:
            if 0 <= now - st.last_status_s < self.cfg["status_interval_s"]:
                return True
            flags = frames.F_PERIODIC
        else:
            if not self._boot_taken:  # a retried boot STATUS keeps the boot's own cause
                st.boot_cause = self.board.wake_cause()
                self._boot_taken = True
            flags = 0
            if st.seq:
                flags |= frames.F_SEQ_FROM_FLASH
            if st.failures:
                flags |= frames.F_LAST_CYCLE_FAILED
        if self.cfg_errors:
            flags |= frames.F_CONFIG_FALLBACK
        payload = frames.status_payload(st.boot_cause, flags, FW_VERSION,
                                        self.cfg["report_interval_s"])
        if not self._send(frames.T_STATUS, payload):
            return False
        self.warm = True  # report the boot once, even if later frames fail
        st.last_status_s = now
        return True

    def _checkins(self) -> bool:
        """Send one CHECKIN per distinct card the reader has sent since the last wake."""
        if self.cards is None or self.card_parser is None:
            return True
        reads: list = []
        waited = 0
        try:
            while True:
                data = self.cards.read()  # type: ignore[attr-defined]
                if data:
                    reads.extend(self.card_parser.feed(data))
                # Woken by the card line: the reader's frame may still be on its way.
                if reads or self.board.wake_cause() != frames.W_PIN or waited >= CARD_WAIT_MS:
                    break
                self.board.sleep_ms(CARD_POLL_MS)
                waited += CARD_POLL_MS
        except Exception as exc:
            self.sensor_errors.append("card_reader: " + exc.__class__.__name__)
            return False
        ok = True
        sent: list = []
        for kind, card_id in reads:
            if (kind, card_id) in sent:
                continue  # the reader repeats a held card: one check-in per wake
            sent.append((kind, card_id))
            if not self._send(frames.T_CHECKIN, frames.checkin_payload(kind, card_id)):
                ok = False
        return ok

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
        st = self.state
        values, self.sensor_errors = sensors.read_all(self.board, cfg, self.pin_sensors)
        ok = not self.sensor_errors
        # A panic press goes first: a person is waiting, nothing of this wake may delay it.
        ok = self._panic(values) and ok
        now = self.board.now_s()
        ok = self._status(now) and ok
        ok = self._checkins() and ok

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
