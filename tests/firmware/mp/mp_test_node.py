"""Node logic on MicroPython: debounce, schedule, config fallback, state, cycle, transports."""

import binascii

from epnode import app, cobs, config, frames, state
from epnode.debounce import hysteresis, majority, sample_digital
from epnode.hmac256 import TagKey
from epnode.quantities import A_BATTERY_LOW, A_MOTION, BATTERY, MOTION, TEMPERATURE
from testboard import TestBoard

KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
KEY = TagKey(binascii.unhexlify(KEY_HEX))
PINS = {"pir": {"quantity": "motion", "type": "digital", "pin": 27, "active": 1},
        "battery": {"quantity": "battery", "type": "adc", "pin": 35, "map": [0, 0, 1000, 2000]}}


def _cfg(**over):
    c = {"node_id": 17, "key": KEY_HEX, "sensors": ["pir", "battery", "temperature"],
         "wake_interval_s": 60, "report_interval_s": 600}
    c.update(over)
    return c


def _decode(wire):
    raw = cobs.decode(wire[1:-1])
    ftype, node_id, seq, payload = frames.parse_raw(raw, lambda n: KEY)
    return ftype, node_id, seq, frames.parse_payload(ftype, payload)


def _board(**over):
    b = TestBoard("esp32")
    b.write_config(_cfg(**over))
    b.adc[35] = 1900  # 3.8 V battery through the 1:2 divider
    b.adc[36] = 750  # TMP36: 25.00 C
    return b


# -- debounce / hysteresis ------------------------------------------------------------
def test_majority_and_sampling():
    assert majority([1, 1, 0]) == 1 and majority([1, 0, 0]) == 0 and majority([1, 0]) == 0
    seq = [1, 0, 1, 1, 0]
    assert sample_digital(lambda: seq.pop(0), lambda ms: None, 5) == 1
    seq = [1, 0, 0]
    assert sample_digital(lambda: seq.pop(0), lambda ms: None, 3) == 0


def test_hysteresis():
    # above-limit alarm, limit 100, band 10
    assert hysteresis(False, 101, 100, 10, True) is True
    assert hysteresis(False, 100, 100, 10, True) is False
    assert hysteresis(True, 95, 100, 10, True) is True  # still inside the band
    assert hysteresis(True, 89, 100, 10, True) is False
    # below-limit alarm (battery low), limit 3300, band 100
    assert hysteresis(False, 3299, 3300, 100, False) is True
    assert hysteresis(True, 3390, 3300, 100, False) is True
    assert hysteresis(True, 3401, 3300, 100, False) is False


# -- config -----------------------------------------------------------------------------
def test_config_valid():
    cfg, errors, ok = config.validate(_cfg(sensors=["pir", "battery"]), PINS)
    assert ok and not errors, errors
    assert cfg["node_id"] == 17 and cfg["key"] == binascii.unhexlify(KEY_HEX)
    assert cfg["transport"] == "uart"


def test_config_bad_fields_fall_back():
    cfg, errors, ok = config.validate(
        _cfg(sensors=["pir", "nope"], wake_interval_s=1, transport="mqtt", mqtt={"ssid": 1},
             thresholds={"battery": "x"}, colour="red"), PINS)
    assert ok  # identity is fine, so the node still works on defaults
    assert cfg["sensors"] == ["battery"] and cfg["wake_interval_s"] == 60
    assert cfg["transport"] == "uart"
    assert cfg["thresholds"]["battery"] == config.DEFAULTS["thresholds"]["battery"]
    text = " ".join(errors)
    for word in ("sensors", "wake_interval_s", "mqtt", "thresholds", "colour"):
        assert word in text, (word, errors)
    assert KEY_HEX not in text


def test_config_bad_identity_unprovisioned():
    for bad in ({"node_id": 0, "key": KEY_HEX}, {"node_id": 5, "key": "abc"},
                {"node_id": True, "key": KEY_HEX}, "not a dict"):
        cfg, errors, ok = config.validate(bad, PINS)
        assert not ok and errors
        assert cfg["wake_interval_s"] == 86400


def test_config_unparsable_file():
    b = TestBoard()
    b.write_config("{node_id: 17,")
    node = app.run(b, max_cycles=1)
    assert not node.provisioned and node.transport is None
    assert b.uart.out == [] and b.wdt_feeds == 1  # nothing sent, nothing hung


# -- state ------------------------------------------------------------------------------
def test_state_pack_roundtrip_and_corruption():
    st = state.NodeState()
    st.seq, st.ceiling, st.last_report_s, st.alarm_bits = 1234, 2048, 99999, 0b1010
    st.last_values = {1: -500, 2: 3700}
    blob = st.pack()
    back = state.unpack(blob)
    assert (back.seq, back.ceiling, back.last_report_s, back.alarm_bits) == (1234, 2048, 99999, 10)
    assert back.last_values == {1: -500, 2: 3700}
    bad = bytearray(blob)
    bad[5] ^= 1
    assert state.unpack(bytes(bad)) is None
    assert state.unpack(b"") is None and state.unpack(b"\xff" * 40) is None


def test_seq_survives_power_loss_with_sparse_flash_writes():
    b = TestBoard()
    store = state.SeqStore(b.flash_dir + "seq.bin")
    st, warm = state.restore(b"", store)
    assert not warm and st.seq == 0
    used = [state.next_seq(st, store, 16) for _ in range(40)]
    assert used == list(range(40)) and store.writes == 3  # ceilings 16, 32, 48
    # deep sleep: RTC memory keeps everything
    st2, warm = state.restore(st.pack(), store)
    assert warm and state.next_seq(st2, store, 16) == 40
    # power loss: RTC memory gone, resume at the flash ceiling, never reuse a number
    st3, warm = state.restore(b"", store)
    assert not warm and st3.seq == 48
    assert state.next_seq(st3, store, 16) == 48 and store.writes == 4


def test_corrupt_seq_file_reads_zero():
    b = TestBoard()
    with open(b.flash_dir + "seq.bin", "wb") as f:
        f.write(b"\x00\x00\x10\x00\xde\xad")
    assert state.SeqStore(b.flash_dir + "seq.bin").read() == 0


# -- cycle ------------------------------------------------------------------------------
def test_cold_boot_sends_status_then_readings():
    b = _board()
    node = app.run(b, max_cycles=1)
    assert len(b.uart.out) == 2, b.uart.out
    t, nid, seq, e = _decode(b.uart.out[0])
    assert (t, nid, seq) == (frames.T_STATUS, 17, 0) and e[0][0] == frames.W_POWER_ON
    t, nid, seq, e = _decode(b.uart.out[1])
    assert t == frames.T_READINGS and seq == 1
    assert dict(e) == {MOTION: 0, BATTERY: 3800, TEMPERATURE: 2500}, e
    assert b.wdt_feeds == 1 and b.wdt_timeout == 30000
    assert b.uart_args == (1, 9600, 17, 16)  # from the esp32 pin map
    assert node.wake_pins() == [(27, 1)]


def test_readings_on_schedule_or_change_only():
    b = _board()
    app.run(b, max_cycles=1)
    b.deep_sleep(60000, [])
    b.uart.out.clear()
    app.run(b, max_cycles=1)  # 60 s later, nothing changed: silence
    assert b.uart.out == []
    b.adc[36] = 752  # +0.2 C, below the 1.00 C threshold
    b.clock += 60
    app.run(b, max_cycles=1)
    assert b.uart.out == []
    b.adc[36] = 800  # +5 C: reported before the schedule
    app.run(b, max_cycles=1)
    assert len(b.uart.out) == 1 and dict(_decode(b.uart.out[0])[3])[TEMPERATURE] == 3000
    b.uart.out.clear()
    b.clock += 600  # schedule due
    app.run(b, max_cycles=1)
    assert len(b.uart.out) == 1 and _decode(b.uart.out[0])[0] == frames.T_READINGS


def test_alarm_sent_at_once_and_cleared_once():
    b = _board()
    app.run(b, max_cycles=1)
    b.uart.out.clear()
    b.digital[27] = [1, 0, 1]  # PIR with a bounce: majority says motion
    b.cause = frames.W_PIN
    app.run(b, max_cycles=1)
    t, _, _, e = _decode(b.uart.out[0])
    assert t == frames.T_ALARM and e == [(A_MOTION, 1, 1)], e
    b.uart.out.clear()
    b.digital[27] = 1
    app.run(b, max_cycles=1)  # still active: no new alarm frame
    assert [_decode(w)[0] for w in b.uart.out] == [], b.uart.out
    b.digital[27] = 0
    app.run(b, max_cycles=1)
    assert [_decode(w)[3] for w in b.uart.out] == [[(A_MOTION, 0, 0)]]


def test_bounce_does_not_raise_alarm():
    b = _board()
    app.run(b, max_cycles=1)
    b.uart.out.clear()
    b.digital[27] = [1, 0, 0]
    app.run(b, max_cycles=1)
    assert b.uart.out == []


def test_battery_low_alarm_with_hysteresis():
    b = _board()
    app.run(b, max_cycles=1)
    b.uart.out.clear()
    b.adc[35] = 1640  # 3.28 V < 3.30 V
    app.run(b, max_cycles=1)
    alarms = [e for t, _, _, e in map(_decode, b.uart.out) if t == frames.T_ALARM]
    assert alarms == [[(A_BATTERY_LOW, 1, 3280)]], alarms
    b.uart.out.clear()
    b.adc[35] = 1680  # 3.36 V: inside the 100 mV band, stays low
    app.run(b, max_cycles=1)
    assert not [1 for w in b.uart.out if _decode(w)[0] == frames.T_ALARM]
    b.adc[35] = 1710  # 3.42 V: cleared
    app.run(b, max_cycles=1)
    alarms = [e for t, _, _, e in map(_decode, b.uart.out) if t == frames.T_ALARM]
    assert alarms == [[(A_BATTERY_LOW, 0, 3420)]], alarms


def test_failed_send_no_watchdog_feed_and_alarm_retried():
    b = _board()
    app.run(b, max_cycles=1)
    feeds = b.wdt_feeds
    b.uart.out.clear()
    b.uart.fail = True
    b.digital[27] = 1
    node = app.run(b, max_cycles=1)
    assert b.wdt_feeds == feeds  # unhealthy cycle: watchdog not fed
    assert node.state.failures == 1
    b.uart.fail = False
    app.run(b, max_cycles=1)
    assert b.wdt_feeds == feeds + 1
    frames_ = [_decode(w) for w in b.uart.out]
    assert [e for t, _, _, e in frames_ if t == frames.T_ALARM] == [[(A_MOTION, 1, 1)]]
    seqs = [s for _, _, s, _ in frames_]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_broken_sensor_is_unhealthy_but_others_report():
    b = _board()
    b.broken_pins.add(36)
    node = app.run(b, max_cycles=1)
    assert node.sensor_errors == ["temperature: OSError"]
    assert b.wdt_feeds == 0
    t, _, _, e = _decode(b.uart.out[-1])
    assert t == frames.T_READINGS and TEMPERATURE not in dict(e) and BATTERY in dict(e)


def test_power_loss_keeps_seq_monotonic():
    b = _board(seq_block=16)
    seen = []
    for _ in range(5):
        for _ in range(7):
            b.clock += 700
            app.run(b, max_cycles=1)
        b.power_loss()
    for w in b.uart.out:
        seen.append(_decode(w)[2])
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    assert b.uart.out and _decode(b.uart.out[-1])[0] == frames.T_READINGS


def test_status_flags_on_fallback_config():
    b = _board(wake_interval_s=1)
    app.run(b, max_cycles=1)
    t, _, _, e = _decode(b.uart.out[0])
    assert t == frames.T_STATUS and e[0][1] & frames.F_CONFIG_FALLBACK


def test_mqtt_transport():
    b = _board(transport="mqtt", mqtt={"ssid": "site", "password": "pw", "host": "10.0.0.2",
                                       "topic": "edgepost/v1/gw1/nodelink/17"})
    app.run(b, max_cycles=1)
    pubs = [x for x in b.mqtt_log if isinstance(x, tuple)]
    assert b.mqtt_log[0] == "connect" and b.mqtt_log[-1] == "disconnect"
    assert [p[0] for p in pubs] == ["edgepost/v1/gw1/nodelink/17"] * 2
    assert _decode(pubs[1][1])[0] == frames.T_READINGS and pubs[0][2] == 1
    assert b.uart.out == []


def test_mqtt_down_is_unhealthy_not_fatal():
    b = _board(transport="mqtt", mqtt={"ssid": "s", "password": "p", "host": "h", "topic": "t"})
    b.mqtt_fail = True
    node = app.run(b, max_cycles=1)
    assert b.wdt_feeds == 0 and node.transport.errors >= 1
    b.mqtt_fail = False
    app.run(b, max_cycles=1)
    assert b.wdt_feeds == 1


def test_pico_w_pin_map():
    b = TestBoard("pico_w")
    b.write_config(_cfg(sensors=["pir", "temperature"]))
    b.adc[4] = 706  # internal sensor at 27 C
    app.run(b, max_cycles=1)
    assert b.uart_args == (0, 9600, 0, 1)
    assert dict(_decode(b.uart.out[1])[3])[TEMPERATURE] == 2700


def test_logic_never_imports_hardware_and_board_layer_needs_it():
    import sys

    for name in ("epnode.app", "epnode.cycle", "epnode.transport", "epnode.state"):
        assert name in sys.modules or __import__(name)
    assert "machine" not in sys.modules and "network" not in sys.modules
    try:
        import board.hw  # noqa: F401 - the real board layer: only importable on hardware
    except ImportError as exc:
        assert "machine" in str(exc), exc
        return
    raise AssertionError("board.hw imported without machine")


def test_every_firmware_module_compiles_on_micropython():
    """mpy-cross may be newer than the VM/boards: the VM's own compiler must accept all."""
    import os

    n = 0
    for d in ("/fw/epnode", "/fw/board"):
        for name in os.listdir(d):
            if name.endswith(".py"):
                with open(d + "/" + name) as f:
                    compile(f.read(), d + "/" + name, "exec")
                n += 1
    with open("/fw/main.py") as f:
        compile(f.read(), "main.py", "exec")
    assert n >= 14, n


# -- panic, STATUS, check-in (firmware 1.1) -------------------------------------------------
def test_panic_sent_at_once_repeated_with_one_seq():
    from epnode.cycle import PANIC_GAP_MS, PANIC_SENDS
    from epnode.quantities import A_PANIC

    b = _board(sensors=["pir", "battery", "panic"])
    node = app.run(b, max_cycles=1)
    assert (4, 1) in node.wake_pins()  # the button wakes the node from deep sleep
    b.uart.out.clear()
    b.pauses.clear()
    b.digital[4] = [1, 0, 1]  # pressed, with a contact bounce
    b.cause = frames.W_PIN
    app.run(b, max_cycles=1)
    first = [_decode(w) for w in b.uart.out[:PANIC_SENDS]]
    assert len(set(b.uart.out[:PANIC_SENDS])) == 1, "copies must be the same frame"
    assert first[0][0] == frames.T_ALARM and first[0][3] == [(A_PANIC, 1, 1)]
    assert b.pauses.count(PANIC_GAP_MS) == PANIC_SENDS - 1
    # no other frame of this wake carries the panic or a panic reading
    for _t, _, _, e in map(_decode, b.uart.out[PANIC_SENDS:]):
        assert all(x[0] not in (A_PANIC, 11) for x in e), e
    b.uart.out.clear()
    b.digital[4] = 1  # still held: nothing new
    app.run(b, max_cycles=1)
    assert b.uart.out == []
    b.digital[4] = 0  # released: not reported
    app.run(b, max_cycles=1)
    assert b.uart.out == []
    b.digital[4] = 1  # a new press is a new alarm with a new seq
    app.run(b, max_cycles=1)
    assert len(b.uart.out) == PANIC_SENDS and _decode(b.uart.out[0])[2] > first[0][2]


def test_bounced_panic_is_ignored_and_failed_panic_is_retried():
    b = _board(sensors=["battery", "panic"])
    app.run(b, max_cycles=1)
    b.uart.out.clear()
    b.digital[4] = [1, 0, 0]  # a spike, not a press
    app.run(b, max_cycles=1)
    assert b.uart.out == []
    b.digital[4] = 1
    b.uart.fail = True
    app.run(b, max_cycles=1)
    b.uart.fail = False
    app.run(b, max_cycles=1)
    assert [_decode(w)[0] for w in b.uart.out] == [frames.T_ALARM] * 3


def test_status_carries_interval_and_repeats_while_running():
    b = _board(status_interval_s=3600)
    app.run(b, max_cycles=1)
    t, _, _, e = _decode(b.uart.out[0])
    assert t == frames.T_STATUS and e == [(frames.W_POWER_ON, 0, 1, 1, 600)], e
    b.uart.out.clear()
    b.deep_sleep(60000, [])
    app.run(b, max_cycles=1)
    assert frames.T_STATUS not in [_decode(w)[0] for w in b.uart.out]
    b.clock += 3600
    app.run(b, max_cycles=1)
    st = [e for t, _, _, e in map(_decode, b.uart.out) if t == frames.T_STATUS]
    # periodic: flagged as such, and the cause is still the boot's, not this timer wake
    assert st == [[(frames.W_POWER_ON, frames.F_PERIODIC, 1, 1, 600)]], st


def test_status_reports_the_fallback_interval():
    b = _board(report_interval_s=3)  # invalid: the node runs on the default
    app.run(b, max_cycles=1)
    t, _, _, e = _decode(b.uart.out[0])
    assert t == frames.T_STATUS and e[0][1] & frames.F_CONFIG_FALLBACK
    assert e[0][4] == config.DEFAULTS["report_interval_s"]


def test_checkin_one_frame_per_card_per_wake():
    from mp_test_cards import ID, em4100

    b = _board(card_reader="em4100")
    node = app.run(b, max_cycles=1)
    assert b.card_args == (2, 9600, 19, 18) and (15, 0) in node.wake_pins()
    b.uart.out.clear()
    b.card.feed(em4100(ID) * 3)  # the reader repeats while the card is held
    b.cause = frames.W_PIN
    app.run(b, max_cycles=1)
    got = [e for t, _, _, e in map(_decode, b.uart.out) if t == frames.T_CHECKIN]
    assert got == [[(frames.CARD_EM4100, ID)]], got


def test_card_wake_without_frame_waits_bounded():
    from epnode.cycle import CARD_WAIT_MS

    b = _board(card_reader="nfc_uid")
    app.run(b, max_cycles=1)
    b.pauses.clear()
    b.cause = frames.W_PIN
    app.run(b, max_cycles=1)
    assert 0 < sum(b.pauses) <= CARD_WAIT_MS + 20, b.pauses


def test_state_v1_blob_is_a_cold_boot():
    import struct

    from epnode.crc16 import crc16

    body = struct.pack(">2sBIIIHBB", b"EP", 1, 100, 1024, 5, 0, 0, 0)
    blob = body + struct.pack(">H", crc16(body))
    assert state.unpack(blob) is None
