"""Evidence clips: a compressed ring of recent frames per camera, clips cut around alarms into a
bounded store, and the commands that list and fetch them."""
