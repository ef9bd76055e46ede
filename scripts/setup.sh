#!/usr/bin/env bash
# Set up everything edgepost needs on a fresh Debian / Raspberry Pi OS machine.
# Idempotent: re-running only installs what is missing. Used by scripts/demo.sh,
# scripts/test.sh and CI (.ci/run), so there is exactly one way to set up.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# --- system packages -------------------------------------------------------
# mosquitto: the local broker the demo and the tests start themselves.
# nodejs/npm: runs the real MicroPython VM (WebAssembly build) for firmware tests.
# socat: pty pairs for serial-link tests.
need=()
command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# gcc + python3-dev: scripts/build_native.sh compiles the event decoder's fast path (mypyc).
command -v cc >/dev/null 2>&1 || need+=(gcc)
python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' || need+=(python3-dev)
# postgresql: the central archive's tests start a private cluster (initdb/pg_ctl).
# chromium + chromium-driver: the central web UI's browser tests (headless).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ "${#need[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# apt may start a system mosquitto; edgepost never relies on it (it runs its own).

# --- Python environment ----------------------------------------------------
EXTRAS="${EDGEPOST_EXTRAS:-dev,vision,sensors,provision,central}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=".venv/.edgepost-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$EXTRAS" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
    echo "$EXTRAS" > "$stamp"
fi

# --- compiled fast path ------------------------------------------------------
# The event decoder's hot module, compiled where a compiler is (it runs as Python otherwise).
scripts/build_native.sh || echo "setup: the event decoder's fast path runs as Python (see above)"

# --- local wheelhouse ---------------------------------------------------------
# tests/packaging builds the wheel and installs it into a fresh venv with --no-index from
# here, so that test never downloads the dependencies (or the build backend) itself.
wheelhouse=".venv/wheelhouse"
if [ ! -f "$wheelhouse/.complete" ] || [ pyproject.toml -nt "$wheelhouse/.complete" ]; then
    mkdir -p "$wheelhouse"
    .venv/bin/python -m pip wheel -q -w "$wheelhouse" "setuptools>=68" wheel ".[gateway,plates]"
    # The test builds its own edgepost wheel (from the sdist); drop this one and the in-tree
    # build/ that pip left, so no stale copy of a file can reach a later wheel.
    rm -rf "$wheelhouse"/edgepost-*.whl build
    touch "$wheelhouse/.complete"
fi

# --- MicroPython VM (Node.js) for firmware tests -----------------------------
if [ -f firmware/package.json ]; then
    if [ ! -d firmware/node_modules ] || [ firmware/package.json -nt firmware/node_modules ]; then
        (cd firmware && npm install --no-audit --no-fund --silent)
    fi
fi
echo "setup: ready (.venv with extras: $EXTRAS)"
