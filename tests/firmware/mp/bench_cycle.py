"""Wake-cycle timing on the MicroPython VM (used by bench/bench_nodelink.py).

Prints one line ``BENCH {json}`` with median microseconds for: sensor read, frame encode
(payload + header + CRC + COBS, tag excluded), HMAC tag, and a whole wake (boot from
flash config, read, decide, encode, tag, send, save state) as an ESP32 does after deep sleep.
"""

import json

import hostio
from epnode import app, cobs, frames, sensors
from epnode.crc16 import crc16
from epnode.hmac256 import TagKey
from testboard import TestBoard

N = json.loads(hostio.arg()) or 200
now = hostio.now_us


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


board = TestBoard("esp32")
board.write_config({"node_id": 17, "key": "00" * 32, "report_interval_s": 60,
                    "wake_interval_s": 60,
                    "sensors": ["pir", "tamper", "battery", "temperature", "water_level"]})
board.adc.update({35: 1900, 36: 750, 34: 1200})
node = app.boot(board)
key = TagKey(b"\x00" * 32)
pin_sensors = node.pin_sensors
t_read, t_enc, t_tag, t_wake = [], [], [], []
for i in range(N):
    t0 = now()
    values, _ = sensors.read_all(board, node.cfg, pin_sensors)
    t1 = now()
    payload = frames.readings_payload(sorted(values.items()))
    body = bytes([0x11, 0, 17, 0, 0, 0, i & 0xFF]) + payload
    t2 = now()
    tag = key.tag(body)
    t3 = now()
    raw = body + tag
    crc = crc16(raw)
    raw = raw + bytes([crc >> 8, crc & 0xFF])
    wire = b"\x00" + cobs.encode(raw) + b"\x00"
    t4 = now()
    t_read.append(t1 - t0)
    t_tag.append(t3 - t2)
    t_enc.append((t2 - t1) + (t4 - t3))
for _ in range(N):
    board.clock += 60  # every wake is due to report readings
    t0 = now()
    app.run(board, max_cycles=1)
    t_wake.append(now() - t0)
    board.uart.out.clear()
print("BENCH " + json.dumps({"n": N, "read_us": median(t_read), "encode_us": median(t_enc),
                             "tag_us": median(t_tag), "wake_us": median(t_wake),
                             "frame_len": len(wire)}))
