#!/usr/bin/env bash
# Set everything up, then run the whole test suite (lint included). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest tests hil_tests "$@"
