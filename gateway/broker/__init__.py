"""A private mosquitto for the demo, the tests and the benchmarks (never the system one)."""

from gateway.broker.local import LocalMosquitto, MosquittoNotFoundError, free_port

__all__ = ["LocalMosquitto", "MosquittoNotFoundError", "free_port"]
