"""edgepost node firmware: pure logic that runs on any MicroPython.

Nothing in this package imports ``machine`` or ``network``; hardware is reached only
through the board object passed in (see ``epnode.boardapi``), so the same code runs on
ESP32, Pico W and the MicroPython WebAssembly VM used by the tests.
"""

FW_VERSION = (1, 1)  # 1.1: panic, check-in, STATUS with interval and periodic repeat
