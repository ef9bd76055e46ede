#!/usr/bin/env bash
# Set everything up, then run `edgepost demo`: the gateway with the demo cameras (or, with
# --synthetic, the demo event source switched on explicitly) against a local mosquitto that
# the demo starts itself, printing what a subscriber receives.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/edgepost demo "$@"
