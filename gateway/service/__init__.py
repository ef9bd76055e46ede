"""The running gateway: composition root, health, state, commands and systemd integration."""
