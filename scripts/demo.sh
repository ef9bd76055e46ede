#!/usr/bin/env bash
# Set everything up, then run the gateway on its embedded defaults against a local
# mosquitto that the demo starts itself, with `events tail` printing what arrives.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/edgepost demo "$@"
