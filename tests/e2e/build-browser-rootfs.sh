#!/usr/bin/env bash
# Builds (once, then cached) the root filesystem of the browser phase's guest: Debian 12 with Chromium, Firefox ESR,
# PipeWire, WirePlumber and the tools the guest scripts use, as a raw ext4 image. tests/e2e/browser.sh boots it.
set -euo pipefail
CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/build-browser-rootfs.sh [--rebuild] [--mirror URL]

Prints the path of a raw ext4 image holding a Debian 12 (bookworm) root filesystem for the browser phase's guest
(tests/e2e/browser.sh), building it first if the cache has none for the current package list:
  debootstrap --variant=minbase bookworm from the Debian mirror, the bookworm, bookworm-updates and
  bookworm-security sources, then 'apt-get install --no-install-recommends' of the packages below; docs, man
  pages and other locales removed; a user 'caller' (uid 1000, groups video and audio) to run the browsers;
  'mkfs.ext4 -d' into an image a quarter larger than the tree. No loop device or mount of the image is needed.

Packages: chromium, chromium-sandbox, firefox-esr, pipewire, wireplumber, gstreamer1.0-pipewire,
gstreamer1.0-tools, v4l-utils, dbus and dbus-user-session (a session bus), udev (PipeWire's V4L2 monitor finds
cameras through udev), python3 (the test page's server), fonts-dejavu-core, procps.

Cache: $SPECTRUM_CACHE/browser-rootfs/rootfs-<key>.img, where the key is a hash of the suite, the package list and
the build steps (not this help); a change of any of them builds a new image and deletes the old ones. Next to it,
rootfs-<key>.versions lists every installed package and version, build-<key>.log the build's output. A guest
never writes the image: tests/e2e/browser.sh attaches it with QEMU's snapshot=on. Needs root (debootstrap,
chroot); the first build downloads the minbase system and 306 MB of packages and took 242 s on 2 cores.

  --rebuild      build the image again even if the cache has it (for newer security updates).
  --mirror URL   the Debian mirror (default $SPECTRUM_DEBIAN_MIRROR, else http://deb.debian.org/debian; the
                 security suite comes from URL with "debian" replaced by "debian-security").
USAGE
}

REBUILD=0 MIRROR="${SPECTRUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
while [ $# -gt 0 ]; do
    case "$1" in
    --rebuild) REBUILD=1 ;;
    --mirror) MIRROR="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/e2e/build-browser-rootfs.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "tests/e2e/build-browser-rootfs.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
log() { printf '[browser-rootfs] %s\n' "$*" >&2; }

PACKAGES=(chromium chromium-sandbox firefox-esr pipewire wireplumber gstreamer1.0-pipewire gstreamer1.0-tools
          v4l-utils dbus dbus-user-session udev python3 fonts-dejavu-core procps)
SUITE=bookworm
DIR="$CACHE/browser-rootfs"
MOUNTS=()

# Runs a command inside the tree being built, with a clean environment.
in_root() {
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# The image's contents, built in $ROOTFS (a fresh directory under the cache). Its text is part of the cache key with
# the suite and the package list, so changing what it does builds a new image.
build_rootfs() {
    local m i
    case "$ROOTFS" in "$DIR"/.stage.*/root) ;; *) log "refusing to build in '$ROOTFS'"; return 1 ;; esac
    log "debootstrap --variant=minbase $SUITE from $MIRROR (log: $BUILD_LOG)"
    debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >> "$BUILD_LOG" 2>&1 \
        || { tail -20 "$BUILD_LOG" >&2; log "debootstrap failed"; return 1; }
    printf 'deb %s %s main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE-updates" \
        "${MIRROR%/debian}/debian-security" "$SUITE-security" > "$ROOTFS/etc/apt/sources.list"
    # No service starts inside the build chroot (udev, dbus): policy-rc.d refuses them all.
    printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
    chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
    for m in proc sys dev dev/pts; do
        mount --bind "/$m" "$ROOTFS/$m"
        MOUNTS+=("$ROOTFS/$m")
    done
    cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

    log "installing ${PACKAGES[*]}"
    in_root apt-get -q update >> "$BUILD_LOG" 2>&1 || { tail -20 "$BUILD_LOG" >&2; log "apt-get update failed"; return 1; }
    in_root apt-get -q install -y --no-install-recommends "${PACKAGES[@]}" >> "$BUILD_LOG" 2>&1 \
        || { tail -20 "$BUILD_LOG" >&2; log "apt-get install failed"; return 1; }
    in_root useradd --create-home --uid 1000 --groups video,audio --shell /bin/sh caller
    in_root apt-get clean

    for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do umount "${MOUNTS[$i]}"; done
    MOUNTS=()
    rm -f "$ROOTFS/usr/sbin/policy-rc.d"
    # What the guest never reads: documentation, man pages, other languages, apt's lists.
    rm -rf "$ROOTFS"/usr/share/{doc,man,info}/* "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
    find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias -exec rm -rf {} +
    find "$ROOTFS/usr/lib/chromium/locales" -name '*.pak' ! -name 'en-US.pak' -delete
    echo browser-guest > "$ROOTFS/etc/hostname"
    printf '127.0.0.1 localhost browser-guest\n::1 localhost\n' > "$ROOTFS/etc/hosts"
    : > "$ROOTFS/etc/resolv.conf"
}

KEY="$( { printf '%s\n' "$SUITE" "${PACKAGES[@]}"; declare -f build_rootfs in_root; } | sha256sum | cut -c1-12)"
IMAGE="$DIR/rootfs-$KEY.img"
mkdir -p "$DIR"

exec 9>"$DIR/.lock"
flock 9
if [ "$REBUILD" = 0 ] && [ -s "$IMAGE" ]; then
    log "cached: $IMAGE"
    echo "$IMAGE"
    exit 0
fi

need=()
for p in debootstrap e2fsprogs; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=1200 -q update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 -q install -y "${need[@]}" >&2
fi

T0=$(date +%s)
STAGE="$(mktemp -d "$DIR/.stage.XXXXXX")"
ROOTFS="$STAGE/root"
cleanup() {
    local i
    for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
    # Never delete through a mount that is still there: the binds are the host's own /dev, /proc and /sys.
    if findmnt -rn -o TARGET | grep -q "^$STAGE/"; then
        log "left $STAGE in place: something is still mounted under it"
    else
        rm -rf "$STAGE"
    fi
    rm -f "$IMAGE.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
BUILD_LOG="$DIR/build-$KEY.log"
: > "$BUILD_LOG"
build_rootfs
in_root dpkg-query -W -f='${Package} ${Version}\n' > "$STAGE/versions"
echo "$KEY" > "$ROOTFS/etc/spectrum-browser-rootfs"

# Size: the tree plus a quarter (the guest writes its profiles and captures to tmpfs, not to this disk).
used_kb=$(du -sk "$ROOTFS" | cut -f1)
size_mb=$(( used_kb * 5 / 4 / 1024 + 64 ))
log "writing a ${size_mb} MB ext4 image from $(( used_kb / 1024 )) MB of files"
mkfs.ext4 -q -F -L spectrum-browser -d "$ROOTFS" -E root_owner=0:0 "$IMAGE.tmp" "${size_mb}M" >> "$BUILD_LOG" 2>&1 \
    || { tail -20 "$BUILD_LOG" >&2; log "mkfs.ext4 failed"; exit 1; }
mv -f "$STAGE/versions" "$DIR/rootfs-$KEY.versions"
mv -f "$IMAGE.tmp" "$IMAGE"
find "$DIR" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$KEY.*" -delete
find "$DIR" -maxdepth 1 -name 'build-*.log' ! -name "build-$KEY.log" -delete
log "built $IMAGE ($(du -h --apparent-size "$IMAGE" | cut -f1), $(du -h "$IMAGE" | cut -f1) on disk) in $(( $(date +%s) - T0 )) s"
echo "$IMAGE"
