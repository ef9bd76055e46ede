"""The centre's side of edgepost: archive every event, account for every device, show the district.

``edgepost central`` subscribes with MQTT 5 shared subscriptions (several instances split the
load), stores events in PostgreSQL (SQLite as the embedded default), computes sequence gaps
per device from the archive and serves the web UI and JSON API. It imports
:mod:`gateway.events` (the protocol) and nothing of the gateway's vision or uplink.
"""
