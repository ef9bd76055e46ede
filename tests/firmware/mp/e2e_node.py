"""End-to-end node: runs wake cycles on the test board, frames go to the host pty.

hostio.arg(): {"node_id": int, "key": hex, "wakes": int}. Prints one line
``EXPECT {json}`` per frame sent (type, seq, entries) for the host test to compare.
"""

import binascii
import json

import hostio
from epnode import app, cobs, frames
from epnode.hmac256 import TagKey
from testboard import HostUart, MemUart, TestBoard

args = json.loads(hostio.arg())
key_hex = args["key"]


class TeeUart(MemUart):
    """Send to the pty and keep a copy to report what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.host = HostUart()

    def write(self, data: bytes) -> int:
        super().write(data)
        return self.host.write(data)


board = TestBoard("esp32", uart=TeeUart())
board.write_config({"node_id": args["node_id"], "key": key_hex,
                    "sensors": ["pir", "tamper", "battery", "temperature", "water_level"],
                    "wake_interval_s": 60, "report_interval_s": 300})
board.adc[35] = 1900
board.adc[36] = 750
board.adc[34] = 1200
for i in range(args["wakes"]):
    board.digital[27] = 1 if i % 5 == 2 else 0  # motion now and then
    board.adc[36] = 750 + (i % 7) * 20  # TMP36 10 mV/C: 25..37 C in 2 C steps
    board.adc[35] = 1900 - i * 12 # battery drains towards the low limit
    app.run(board, max_cycles=1)
    board.deep_sleep(60000, [])

key = TagKey(binascii.unhexlify(key_hex))
for wire in board.uart.out:
    ftype, node_id, seq, payload = frames.parse_raw(cobs.decode(wire[1:-1]), lambda n: key)
    entries = [list(e) for e in frames.parse_payload(ftype, payload)]
    print("EXPECT " + json.dumps({"type": ftype, "node_id": node_id, "seq": seq,
                                  "entries": entries}))
