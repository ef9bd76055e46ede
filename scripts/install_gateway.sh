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
# Run again with a newer wheel to update: in the bundle folder (install.sh installs its files
# too), or in a folder holding only this script and the wheel (a software update: the
# configuration installed in /etc/edgepost stays). Each run installs into a venv of its own
# under /opt/edgepost/venvs/. The new edgepost checks the configuration and the zones saved on
# the gateway's page first; only then is /opt/edgepost/venv (a link: what the service runs)
# switched to it and the service restarted. When the new version does not come up, the link
# goes back, the previous configuration with it, and the old version is restarted. The venv
# in use and the one before it are kept; older ones are removed.
#
# Environment:
#   EDGEPOST_ROOT    install under a prefix (tests): no apt, no users, and no systemctl
#                    unless EDGEPOST_SYSTEMCTL is set
#   EDGEPOST_SYSTEMCTL  the systemctl to use (default systemctl)
#   EDGEPOST_SETTLE_S   seconds a restarted service must stay up (default 3)
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
SYSTEMCTL="${EDGEPOST_SYSTEMCTL:-systemctl}"
UNIT=edgepost-gateway.service
EXTRAS="${EDGEPOST_EXTRAS:-gateway}"

say() { printf '[install_gateway] %s\n' "$*"; }
die() { printf '[install_gateway] ERROR: %s\n' "$*" >&2; exit 1; }
services() { [ -z "$ROOT" ] || [ -n "${EDGEPOST_SYSTEMCTL:-}" ]; }

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

# The configuration the unit runs with (its ExecStart's -c): the bundle's unit, else the installed
# one; a bundle made with --etc-dir puts it elsewhere than /etc/edgepost.
UNIT_FILE="$ROOT/etc/systemd/system/$UNIT"
if [ -f "$UNIT" ]; then SRC_UNIT="$UNIT"; else SRC_UNIT="$UNIT_FILE"; fi
CONF_PATH="$(sed -n 's/^ExecStart=.* -c \([^ ]*\).*$/\1/p' "$SRC_UNIT" 2>/dev/null | head -n 1)"
CONF_PATH="${CONF_PATH:-/etc/edgepost/edgepost.toml}"
ETC_DIR="$(dirname "$CONF_PATH")"
ETC="$ROOT$ETC_DIR"
CONFIG="$ROOT$CONF_PATH"
RESTORE=""
if [ -f install.sh ]; then
    # the bundle's files: install.sh checks them with the new edgepost before it changes
    # anything, keeps edgepost.toml.previous, and leaves the switch and restart to us
    EDGEPOST_BIN="$NEW/bin/edgepost" EDGEPOST_NO_RESTART=1 sh ./install.sh \
        || die "install.sh failed (above); the running version is untouched"
    RESTORE=1
elif [ -f "$CONFIG" ]; then
    # a software update: the installed configuration and saved zones, checked by the new edgepost
    say "checking $CONFIG with the new edgepost before switching"
    CHECK="$(mktemp -d)"
    sed "s#\"$ETC_DIR/#\"$ETC/#g" "$CONFIG" > "$CHECK/edgepost.toml"
    ZONES="${CONFIG%.toml}.zones.toml"  # the page's saved zones, beside the configuration
    [ ! -f "$ZONES" ] || cp "$ZONES" "$CHECK/edgepost.zones.toml"
    if ! "$NEW/bin/edgepost" gateway check-config "$CHECK/edgepost.toml" >/dev/null 2>"$CHECK/why"; then
        sed "s#$CHECK/#$ETC/#g" "$CHECK/why" >&2
        rm -rf "$CHECK"
        die "the new edgepost refuses the installed configuration or the saved zones (above): \
nothing was changed, the installed version keeps running"
    fi
    rm -rf "$CHECK"
else
    say "no install.sh here and no $CONFIG yet: run the gateway's install.sh next"
fi

# The switch: one rename of the link the unit runs; the one before kept for a rollback.
switch_to() {
    ln -s "$1" "$VENV.new"
    mv -T "$VENV.new" "$VENV"
}
PREVIOUS=""
if [ -L "$VENV" ]; then
    PREVIOUS="$(readlink "$VENV")"
elif [ -d "$VENV" ]; then
    # a venv installed before versioned venvs: moved aside, and back on a rollback (its
    # scripts name this path); removed once the new one runs
    rm -rf "$VENV.replaced"
    mv "$VENV" "$VENV.replaced"
    PREVIOUS="$VENV.replaced"
fi
say "switching $VENV to $NEW"
switch_to "$NEW"

roll_back() {
    if [ "$PREVIOUS" = "$VENV.replaced" ]; then
        rm -f "$VENV"
        mv "$VENV.replaced" "$VENV"
    else
        switch_to "$PREVIOUS"
    fi
    if [ -n "$RESTORE" ] && [ -f "$CONFIG.previous" ]; then
        cp -p "$CONFIG.previous" "$CONFIG"
    fi
}

if services && [ -f "$UNIT_FILE" ]; then
    # Type=notify: restart fails when the service never says it is ready
    STARTED=1
    "$SYSTEMCTL" restart "$UNIT" || STARTED=0
    sleep "${EDGEPOST_SETTLE_S:-3}"
    if [ "$STARTED" = 0 ] || ! "$SYSTEMCTL" is-active --quiet "$UNIT"; then
        [ -n "$PREVIOUS" ] || die "service not active: journalctl -u $UNIT -n 50"
        # an unattended site must not stay dark after an update: back to what ran before
        roll_back
        "$SYSTEMCTL" restart "$UNIT" || die "the new version did not start, and after rolling \
back to the previous version neither did that: journalctl -u $UNIT -n 100"
        die "the new version did not start (journalctl -u $UNIT -n 50): rolled back to the \
previous version${RESTORE:+ and configuration}, which runs again"
    fi
    say "running: systemctl status $UNIT; logs: journalctl -u $UNIT -f"
fi
rm -rf "$VENV.replaced"

# keep the venv in use and the newest other one (the one before it); names sort by date
KEEP=2
for old in $(ls -1d "$VENVS"/*/ 2>/dev/null | sed 's#/$##' | sort -r); do
    if [ "$old" = "$(readlink "$VENV")" ]; then continue; fi
    KEEP=$((KEEP - 1))
    [ "$KEEP" -gt 0 ] || rm -rf "$old"
done
