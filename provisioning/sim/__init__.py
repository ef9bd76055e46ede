"""Simulated hardware for provisioning tests and the simulated HIL rig."""
