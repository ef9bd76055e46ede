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
# Run again with a newer wheel to update. Each run installs into a venv of its own under
# /opt/edgepost/venvs/; /opt/edgepost/venv (what the service runs) is a link that install.sh
# switches to it only after the new edgepost has accepted the configuration, just before the
# restart, and switches back when the new version does not start. Until then the running
# version is untouched. The venv in use and the one before it are kept; older ones are removed.
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
VENV="$ROOT/opt/edgepost/venv"      # a link to the venv in use (a directory before versioned venvs)
VENVS="$ROOT/opt/edgepost/venvs"
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

NEW="$VENVS/$(date +%Y%m%d-%H%M%S-%N)-$(basename "$WHEEL" .whl)"  # dated first: sorted by age
say "creating $NEW (with system site packages, so apt's picamera2 is importable)"
mkdir -p "$VENVS"
"$PY" -m venv --system-site-packages "$NEW"
CONSTRAINTS="$(mktemp)"
# A failed run leaves nothing half-made: the new venv goes unless the service runs it now.
cleanup() {
    rm -f "$CONSTRAINTS"
    [ "$(readlink "$VENV" 2>/dev/null || true)" = "$NEW" ] || rm -rf "$NEW"
}
trap cleanup EXIT
# One numpy for picamera2 and the detector: apt's python3-numpy (1.24 on Debian 12) already
# satisfies numpy<2, so pip keeps it; were a venv copy installed, the venv's would win (its
# site-packages come before the system's on sys.path).
echo "numpy<2" > "$CONSTRAINTS"
set -- -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS"
if [ -d wheelhouse ]; then
    set -- "$@" --no-index --find-links wheelhouse
fi
say "installing $WHEEL[$EXTRAS]"
"$NEW/bin/python" "$@" "$WHEEL[$EXTRAS]" || die "pip could not install $WHEEL (see above); \
the installed version is untouched"
"$NEW/bin/python" -c 'import numpy; print("[install_gateway] numpy", numpy.__version__, "from", numpy.__file__)'
"$NEW/bin/python" -c 'import picamera2' 2>/dev/null && say "picamera2: importable" \
    || say "picamera2: not importable (only on a Pi with python3-picamera2)"

if [ -f install.sh ]; then
    # install.sh checks the configuration with the new edgepost, then switches the link
    EDGEPOST_BIN="$NEW/bin/edgepost" EDGEPOST_VENV="$NEW" sh ./install.sh \
        || die "install.sh failed (above); the service runs $(readlink "$VENV" 2>/dev/null || echo "$VENV")"
else
    [ ! -d "$VENV" ] || [ -L "$VENV" ] || mv "$VENV" "$VENV.replaced"
    ln -s "$NEW" "$VENV.new" && mv -T "$VENV.new" "$VENV"
    rm -rf "$VENV.replaced"
    say "no install.sh here: edgepost is at $VENV/bin/edgepost; run the bundle's install.sh next"
fi

# keep the venv in use and the newest other one (the one before it); names sort by date
KEEP=2
for old in $(ls -1d "$VENVS"/*/ 2>/dev/null | sed 's#/$##' | sort -r); do
    if [ "$old" = "$(readlink "$VENV")" ]; then continue; fi
    KEEP=$((KEEP - 1))
    [ "$KEEP" -gt 0 ] || rm -rf "$old"
done
