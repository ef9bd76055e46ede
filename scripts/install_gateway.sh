#!/bin/sh
# Install the edgepost gateway on Raspberry Pi OS (Debian 12, arm64) in one command.
#
# Run it from the install bundle: the folder `edgepost provision gateway` wrote for this
# gateway (site/gateways/<id>/, with its install.sh), plus the edgepost wheel and, for an
# offline Pi, a wheelhouse/ folder of dependency wheels (pip download --platform ...):
#     sudo ./install_gateway.sh
# It installs picamera2 from apt (it is built against Raspberry Pi OS's libcamera and cannot
# come from PyPI), makes a venv that also sees the system packages, installs the wheel with
# the gateway extra under numpy<2 (tflite-runtime fails under numpy 2), says which numpy is
# in use, then runs the bundle's install.sh (identity, config, systemd unit, start).
#
# Environment:
#   EDGEPOST_ROOT    install under a prefix (tests): no apt, no users, no systemctl
#   EDGEPOST_PYTHON  the Python to build the venv from (default /usr/bin/python3: the one
#                    apt's python3-picamera2 is built for)
#   EDGEPOST_EXTRAS  extras to install (default: gateway)
#   EDGEPOST_WHEEL   the wheel (default: the newest edgepost-*.whl in this folder)
set -eu
cd "$(dirname "$0")"
ROOT="${EDGEPOST_ROOT:-}"
PY="${EDGEPOST_PYTHON:-/usr/bin/python3}"
VENV="$ROOT/opt/edgepost/venv"
EXTRAS="${EDGEPOST_EXTRAS:-gateway}"

say() { printf '[install_gateway] %s\n' "$*"; }
die() { printf '[install_gateway] ERROR: %s\n' "$*" >&2; exit 1; }

[ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || die "run as root: sudo ./install_gateway.sh"
WHEEL="${EDGEPOST_WHEEL:-$(ls -t edgepost-*.whl 2>/dev/null | head -n 1)}"
[ -n "$WHEEL" ] && [ -f "$WHEEL" ] || die "no edgepost-*.whl here: build one with \
'python -m build' in the repository (dist/) and copy it into this folder"

if [ -z "$ROOT" ]; then
    say "installing system packages (python3-venv, python3-picamera2)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    # picamera2 exists only in Raspberry Pi OS's archive; elsewhere USB/RTSP cameras still work.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-picamera2 \
        || say "python3-picamera2 is not available: CSI cameras (source picamera2) will not work"
fi

say "creating $VENV (with system site packages, so apt's picamera2 is importable)"
"$PY" -m venv --system-site-packages "$VENV"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
# One numpy for picamera2 and the detector: apt's python3-numpy (1.24 on Debian 12) already
# satisfies numpy<2, so pip keeps it; were a venv copy installed, the venv's would win (its
# site-packages come before the system's on sys.path).
echo "numpy<2" > "$CONSTRAINTS"
set -- -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS"
if [ -d wheelhouse ]; then
    set -- "$@" --no-index --find-links wheelhouse
fi
say "installing $WHEEL[$EXTRAS]"
"$VENV/bin/python" "$@" "$WHEEL[$EXTRAS]" || die "pip could not install $WHEEL (see above)"
"$VENV/bin/python" -c 'import numpy; print("[install_gateway] numpy", numpy.__version__, "from", numpy.__file__)'
"$VENV/bin/python" -c 'import picamera2' 2>/dev/null && say "picamera2: importable" \
    || say "picamera2: not importable (only on a Pi with python3-picamera2)"

if [ -f install.sh ]; then
    EDGEPOST_BIN="$VENV/bin/edgepost" sh ./install.sh
else
    say "no install.sh here: edgepost is at $VENV/bin/edgepost; run the bundle's install.sh next"
fi
