"""Node entry point (copied to the board's flash root next to epnode/ and board/)."""

from board.hw import HardwareBoard, cause_name
from epnode import app, frames

board = HardwareBoard()
cause = board.wake_cause()
# Console lines for the HIL rig (docs/hil.md): BOOT always, WAKE after a deep-sleep reboot.
print(f"BOOT cause={cause_name(cause)} board={board.name}")
if cause in (frames.W_TIMER, frames.W_PIN):
    print("WAKE cause=" + cause_name(cause))
app.run(board)
