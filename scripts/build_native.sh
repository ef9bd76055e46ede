#!/usr/bin/env bash
# Compile the event decoder's fast path (gateway/events/plain_decode.py) with mypyc.
#
# Why: a central consumer decodes every event it receives, and compiled, that module checks
# and builds an event two to three times faster (bench/bench_subscriber.py). It is plain
# typed Python that imports nothing from the project; where this script cannot run (no C
# compiler, no mypyc, a wheel install), the same source runs as ordinary Python.
#
# The compiled module carries the SHA-256 of the source it was built from; the decoder
# (gateway/events/fastbody.py) uses it only while that matches the source beside it, so an
# edited source is never shadowed by a stale build. setup.sh runs this; run it again after
# editing plain_decode.py.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
src=gateway/events/plain_decode.py
if ! "$py" -c 'import mypyc' >/dev/null 2>&1; then
    echo "build_native: mypyc is not installed (it comes with the dev extra): $src runs as Python"
    exit 0
fi
if ! command -v cc >/dev/null 2>&1; then
    echo "build_native: no C compiler (apt install gcc python3-dev): $src runs as Python"
    exit 0
fi
hash="$(sha256sum "$src" | cut -d' ' -f1)"
built=(gateway/events/plain_decode__mypyc.cpython-*.so)  # holds the module's constants
if [ -f "${built[0]}" ] && grep -qa "$hash" "${built[0]}"; then
    echo "build_native: $src is compiled and up to date"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Built alone in a scratch package of the same name: mypyc names the module as the project
# does, and type-checks only this file.
mkdir -p "$work/gateway/events"
touch "$work/gateway/__init__.py" "$work/gateway/events/__init__.py"
cp "$src" "$work/$src"
printf '\nSOURCE_SHA256: Final = "%s"  # added by scripts/build_native.sh\n' "$hash" >> "$work/$src"
(cd "$work" && "$OLDPWD/$py" -m mypyc "$src" > build.log 2>&1) || {
    tail -20 "$work/build.log"; echo "build_native: mypyc failed"; exit 1; }
rm -f gateway/events/plain_decode*.so
cp "$work"/gateway/events/plain_decode*.so gateway/events/
echo "build_native: compiled $src"
