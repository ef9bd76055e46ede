"""Node entry point (copied to the board's flash root next to epnode/ and board/)."""

from board.hw import HardwareBoard
from epnode import app

app.run(HardwareBoard())
