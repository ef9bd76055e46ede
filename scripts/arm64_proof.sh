#!/bin/sh
# Proof on arm64: the edgepost wheel, installed from PyPI's aarch64 wheels into a Debian 12
# arm64 root under qemu-user-static, runs the gateway on the sample car video and publishes
# the same events as the x86 build on this machine (docs/install.md, "Proof on arm64").
#
#     sudo scripts/arm64_proof.sh          # 12-20 min the first time, then ~10 min
#
# Why a script and not a test: it needs root (debootstrap, chroot, binfmt_misc), the
# network (Debian mirror, PyPI) and many minutes of emulated CPU, so it stays out of the
# default test run; its last result is recorded in bench/RESULTS.md ("arm64 proof").
#
# Steps: apt-installs qemu-user-static, binfmt-support, debootstrap and mosquitto if missing;
# registers qemu-aarch64 with binfmt_misc; builds (once, cached) a Debian 12 arm64 root with
# debootstrap; builds the wheel from this checkout; installs it in the root with
# scripts/install_gateway.sh (numpy<2, gateway + plates extras: aarch64 wheels of numpy,
# ai-edge-litert, opencv-python-headless...); then scripts/arm64_compare.py runs the same
# gateway configuration on x86 (host) and arm64 (chroot) into a private mosquitto on the
# host's loopback and compares what a subscriber receives. Exit 0: the events match.
#
# Environment:
#   EDGEPOST_ARM64_CACHE   where the arm64 root is kept between runs (default
#                          /var/cache/edgepost-arm64); delete it to start from scratch
#   EDGEPOST_ARM64_MIRROR  Debian mirror for debootstrap (default: the machine's apt source)
#   EDGEPOST_SHARED        folder with media/video/car-detection.mp4,
#                          models/coco_ssd_mobilenet_v1/ and plates/real_scenes_hyperlpr/
#                          (default: ../shared beside the checkout)
#   EDGEPOST_ARM64_OUT     where the report goes (default: $EDGEPOST_ARM64_CACHE/report)
set -eu
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${EDGEPOST_ARM64_CACHE:-/var/cache/edgepost-arm64}"
ROOTFS="$CACHE/root"
SHARED="${EDGEPOST_SHARED:-$(cd "$REPO/.." && pwd)/shared}"
OUT="${EDGEPOST_ARM64_OUT:-$CACHE/report}"
HOSTPY="$REPO/.venv/bin/python"
# Inside the root, every path the gateway reads lives under here (host side: $ROOTFS$PROOF).
PROOF=/opt/edgepost-proof

say() { printf '[arm64_proof %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[arm64_proof] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, binfmt_misc): sudo $0"
[ -x "$HOSTPY" ] || die "no $HOSTPY: run scripts/setup.sh first (the x86 side runs from it)"
for f in media/video/car-detection.mp4 models/coco_ssd_mobilenet_v1/detect.tflite \
         models/coco_ssd_mobilenet_v1/labelmap.txt plates/real_scenes_hyperlpr/cache_bad2; do
    [ -e "$SHARED/$f" ] || die "missing $SHARED/$f: set EDGEPOST_SHARED to the assets folder"
done
T0=$(date +%s)

# 1. Host tools, from Debian's packages.
need=""
command -v qemu-aarch64-static >/dev/null || need="$need qemu-user-static"
command -v update-binfmts >/dev/null || need="$need binfmt-support"
command -v debootstrap >/dev/null || need="$need debootstrap"
command -v mosquitto >/dev/null || need="$need mosquitto"
if [ -n "$need" ]; then
    say "apt-get install$need"
    apt-get update -qq
    # shellcheck disable=SC2086  # the list is meant to split into package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

# 2. Let the kernel run aarch64 binaries through qemu (a container may start without
# binfmt_misc mounted; the package's postinst then registers nothing).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
    || die "qemu-aarch64 is not enabled in binfmt_misc (update-binfmts --enable qemu-aarch64)"

# 3. The Debian 12 arm64 root, built once (into a temporary folder, renamed when complete,
# so an interrupted debootstrap is never mistaken for a finished root).
if [ ! -f "$ROOTFS/.edgepost-root-complete" ]; then
    MIRROR="${EDGEPOST_ARM64_MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources \
        2>/dev/null | head -n 1)}"
    MIRROR="${MIRROR:-http://deb.debian.org/debian}"
    say "debootstrap arm64 bookworm from $MIRROR into $ROOTFS (~5 min)"
    rm -rf "$ROOTFS.partial"
    mkdir -p "$CACHE"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip \
        bookworm "$ROOTFS.partial" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || die "debootstrap failed: see $CACHE/debootstrap.log"
    rm -rf "$ROOTFS"
    mv "$ROOTFS.partial" "$ROOTFS"
    touch "$ROOTFS/.edgepost-root-complete"
else
    say "reusing the arm64 root in $ROOTFS"
fi
# The registries are reached through this machine's resolver and proxy CA.
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
chroot "$ROOTFS" /usr/bin/uname -m | grep -qx aarch64 || die "the root does not run as aarch64"

# /proc only: with the host's /sys bound in, LiteRT's cpuinfo probe segfaults under qemu.
WORK="$(mktemp -d /tmp/edgepost-arm64-XXXXXX)"
MOUNTED=""
cleanup() {
    rm -rf "$WORK"
    if [ -n "$MOUNTED" ]; then umount "$ROOTFS/proc" 2>/dev/null || umount -l "$ROOTFS/proc"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that cleanup (unmount /proc) runs on Ctrl-C too
if ! mountpoint -q "$ROOTFS/proc"; then
    mount --bind /proc "$ROOTFS/proc"
    MOUNTED=1
fi

# 4. The wheel from this checkout, built as a release builds it (sdist, then the wheel from
# the sdist), from the local wheelhouse when setup.sh made one.
say "building the wheel"
if [ -f "$REPO/.venv/wheelhouse/.complete" ]; then
    PIP_NO_INDEX=1 PIP_FIND_LINKS="$REPO/.venv/wheelhouse" \
        "$HOSTPY" -m build --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1
else
    "$HOSTPY" -m build --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1
fi || { tail -n 30 "$WORK/build.log" >&2; die "building the wheel failed"; }
WHEEL="$(ls "$WORK"/dist/edgepost-*.whl)"

# 5. Install it in the root the way a Pi gets it: scripts/install_gateway.sh (prefix mode:
# no apt, no systemd), the gateway and plate extras under numpy<2, dependencies from PyPI's
# aarch64 wheels. Each run installs into a fresh venv of its own (install_gateway.sh keeps
# one venv per install behind /opt/edgepost/venv), so the dependencies are installed again.
rm -rf "$ROOTFS$PROOF/install"
mkdir -p "$ROOTFS$PROOF/install" "$ROOTFS$PROOF/assets"
cp "$WHEEL" "$REPO/scripts/install_gateway.sh" "$ROOTFS$PROOF/install/"
cp "$SHARED/media/video/car-detection.mp4" "$SHARED/models/coco_ssd_mobilenet_v1/detect.tflite" \
    "$SHARED/models/coco_ssd_mobilenet_v1/labelmap.txt" "$ROOTFS$PROOF/assets/"
# The first 20 (by name) of the real plate photos: the plate models compared on their own.
rm -rf "$ROOTFS$PROOF/assets/plates"
mkdir -p "$ROOTFS$PROOF/assets/plates"
find "$SHARED/plates/real_scenes_hyperlpr/cache_bad2" -name '*.png' | LC_ALL=C sort | head -n 20 \
    | while IFS= read -r f; do cp "$f" "$ROOTFS$PROOF/assets/plates/"; done
say "installing $(basename "$WHEEL")[gateway,plates] in the arm64 root (~3 min)"
T_INSTALL=$(date +%s)
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    EDGEPOST_ROOT=/ EDGEPOST_EXTRAS=gateway,plates EDGEPOST_WHEEL="$(basename "$WHEEL")" \
    sh "$PROOF/install/install_gateway.sh" || die "installing the wheel in the arm64 root failed"
chroot "$ROOTFS" /opt/edgepost/venv/bin/python -c \
    'import platform, numpy, cv2, ai_edge_litert; print("[arm64_proof] arm64 side:", platform.machine(), "numpy", numpy.__version__, "opencv", cv2.__version__)'
say "installed in $(( $(date +%s) - T_INSTALL )) s"

# 6. Same configuration on both sides, one private broker on the host's loopback, compared.
mkdir -p "$OUT"
say "running x86 (host) and arm64 (chroot) gateways and comparing (arm64 under emulation: ~10 min)"
rc=0
nice -n 5 "$HOSTPY" "$REPO/scripts/arm64_compare.py" --root "$ROOTFS" --proof-dir "$PROOF" \
    --out "$OUT" || rc=$?
say "total $(( $(date +%s) - T0 )) s; report in $OUT/report.md"
exit $rc
