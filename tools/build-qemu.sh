#!/usr/bin/env bash
# Build QEMU 10.0.2 (Debian bookworm-backports source) with tools/qemu/vhost-user-media.patch applied,
# and cache the resulting qemu-system-x86_64 outside the source tree.
set -euo pipefail

QEMU_VERSION=10.0.2
ORIG_TARBALL="qemu_${QEMU_VERSION}+ds.orig.tar.xz"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PATCH_FILE="$SCRIPT_DIR/qemu/vhost-user-media.patch"
CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<EOF
Usage: tools/build-qemu.sh [--force] [--keep-build] [--jobs N]

Builds qemu-system-x86_64 $QEMU_VERSION from Debian's bookworm-backports source package with
tools/qemu/vhost-user-media.patch applied (generic vhost-user device user-creatable, virtio id 48
named "virtio-media"), and installs it as

  \$SPECTRUM_CACHE/qemu/$QEMU_VERSION-<first 12 hex of sha256(patch)>/qemu-system-x86_64

(SPECTRUM_CACHE defaults to \$HOME/.cache/spectrum-camera). If that binary already exists the
script only checks the host packages and returns at once.

Steps: enable bookworm-backports (deb + deb-src) if missing; install build dependencies and the
runtime firmware (seabios, ipxe-qemu, qemu-system-data from backports' qemu-system-x86); fetch the
orig tarball with 'apt-get source --download-only'; unpack, patch, set unpack_edk2_blobs = false in
meson.build (build-only tweak, the +ds tarball has no edk2 blobs); configure; ninja; install.

Options:
  --force        rebuild even if the cached binary exists
  --keep-build   keep the build tree (\$SPECTRUM_CACHE/qemu/build-<key>) after a successful build
  --jobs N       ninja parallelism (default: nproc)
  -h, --help     this text

Output: progress on stderr; the installed binary's absolute path as the last line of stdout.
Run the binary with: -L /usr/share/seabios -L /usr/share/qemu -nic none
EOF
}

log() { printf '[build-qemu] %s\n' "$*" >&2; }
die() { printf '[build-qemu] ERROR: %s\n' "$*" >&2; exit 1; }

FORCE=0
KEEP_BUILD=0
JOBS="$(nproc)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force) FORCE=1 ;;
        --keep-build) KEEP_BUILD=1 ;;
        --jobs) [[ $# -ge 2 ]] || die "--jobs needs a value"; JOBS="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

[[ -f "$PATCH_FILE" ]] || die "patch not found: $PATCH_FILE"
[[ $EUID -eq 0 ]] || die "must run as root (installs packages with apt-get)"

APT=(apt-get -o DPkg::Lock::Timeout=1200 -q)
PATCH_KEY="$(sha256sum "$PATCH_FILE" | cut -c1-12)"
KEY="$QEMU_VERSION-$PATCH_KEY"
INSTALL_DIR="$CACHE/qemu/$KEY"
BIN="$INSTALL_DIR/qemu-system-x86_64"
SRC_CACHE="$CACHE/qemu/src"
BUILD_ROOT="$CACHE/qemu/build-$KEY"

mkdir -p "$CACHE/qemu"
# Serialise concurrent invocations (two test runs starting at once must not build twice).
exec 9>"$CACHE/qemu/.lock"
flock 9

pkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
# Avoid `cmd | grep -q` under pipefail: grep exiting early can SIGPIPE cmd and fail the pipeline.
qemu_source_visible() { [[ "$(apt-cache showsrc qemu 2>/dev/null || true)" == *"Version: "*"${QEMU_VERSION}"* ]]; }

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        "${APT[@]}" update >&2
        APT_UPDATED=1
    fi
}

ensure_backports() {
    if grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ \
        && grep -rqsE '^[^#]*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ \
        && qemu_source_visible; then
        return 0
    fi
    "$SCRIPT_DIR/enable-backports.sh"
    apt_update_once
    qemu_source_visible || die "no qemu $QEMU_VERSION source package visible; is a deb-src entry for bookworm-backports configured?"
}

# Install packages that are missing; $1 = "" or a target release.
ensure_packages() {
    local release="$1"; shift
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    apt_update_once
    log "installing ${release:+($release) }${missing[*]}"
    if [[ -n "$release" ]]; then
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends -t "$release" "${missing[@]}" >&2
    else
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >&2
    fi
}

ensure_runtime_packages() {
    ensure_backports
    # Firmware used through -L /usr/share/seabios -L /usr/share/qemu (bios-256k.bin, kvmvapic.bin,
    # linuxboot_dma.bin, ...). The backports qemu-system-x86 pulls in matching seabios/ipxe/qemu-system-data.
    ensure_packages bookworm-backports qemu-system-x86
    ensure_packages "" seabios ipxe-qemu
    [[ -f /usr/share/seabios/bios-256k.bin ]] || die "missing /usr/share/seabios/bios-256k.bin"
    [[ -f /usr/share/qemu/linuxboot_dma.bin || -f /usr/share/seabios/linuxboot_dma.bin ]] \
        || die "missing linuxboot_dma.bin firmware"
}

ensure_build_packages() {
    ensure_packages "" build-essential ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev flex bison \
        pkg-config python3-venv bzip2 xz-utils patch
    # QEMU 10 needs meson >= 1.5; bookworm has 1.0.1, backports 1.7.
    local mv
    mv="$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)"
    if [[ -z "$mv" ]] || dpkg --compare-versions "$mv" lt 1.5; then
        apt_update_once
        log "installing meson and python3-pycotap from bookworm-backports"
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends -t bookworm-backports \
            meson python3-pycotap >&2
    fi
    ensure_packages bookworm-backports python3-pycotap
}

check_binary() {
    [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1 || return 1
    [[ "$("$1" -device help 2>/dev/null || true)" == *'"vhost-user-device-pci"'* ]]
}

ensure_runtime_packages

if [[ $FORCE -eq 0 ]] && check_binary "$BIN"; then
    log "cached: $BIN"
    echo "$BIN"
    exit 0
fi

ensure_build_packages

# ---- source -----------------------------------------------------------------------------------
mkdir -p "$SRC_CACHE"
if [[ ! -s "$SRC_CACHE/$ORIG_TARBALL" ]]; then
    log "fetching qemu source (apt-get source --download-only qemu/bookworm-backports)"
    # The .dsc and debian.tar.xz may 404 on this mirror; only the orig tarball matters.
    (cd "$SRC_CACHE" && "${APT[@]}" source --download-only "qemu/bookworm-backports" >&2) \
        || log "apt-get source reported errors (expected if the .dsc/.debian.tar.xz 404); checking for the orig tarball"
    [[ -s "$SRC_CACHE/$ORIG_TARBALL" ]] || die "could not download $ORIG_TARBALL"
fi
# Verify the tarball against the archive's Sources index when it lists it.
expected_sha="$(apt-cache showsrc qemu 2>/dev/null | awk -v f="$ORIG_TARBALL" '
    /^Checksums-Sha256:/ {in_sum=1; next} /^[^ ]/ {in_sum=0} in_sum && $3==f {print $1; exit}')"
if [[ -n "$expected_sha" ]]; then
    actual_sha="$(sha256sum "$SRC_CACHE/$ORIG_TARBALL" | cut -d' ' -f1)"
    if [[ "$actual_sha" != "$expected_sha" ]]; then
        rm -f "$SRC_CACHE/$ORIG_TARBALL"
        die "sha256 mismatch for $ORIG_TARBALL (removed; re-run to fetch again)"
    fi
    log "orig tarball sha256 verified ($expected_sha)"
fi

# ---- unpack + patch ---------------------------------------------------------------------------
SRC_DIR="$BUILD_ROOT/qemu-$QEMU_VERSION"
if [[ ! -f "$BUILD_ROOT/.prepared" ]]; then
    log "unpacking into $BUILD_ROOT"
    rm -rf "$BUILD_ROOT"
    mkdir -p "$BUILD_ROOT"
    tar -C "$BUILD_ROOT" -xf "$SRC_CACHE/$ORIG_TARBALL"
    [[ -d "$SRC_DIR" ]] || die "unexpected tarball layout (no qemu-$QEMU_VERSION/)"
    log "applying $(basename "$PATCH_FILE")"
    patch -d "$SRC_DIR" -p1 --forward --batch < "$PATCH_FILE" >&2
    # Build-only tweak: the +ds tarball has no edk2 *.fd.bz2 blobs; don't try to unpack them.
    sed -i 's/^\(\s*\)unpack_edk2_blobs = bzip2.found()/\1unpack_edk2_blobs = false/' "$SRC_DIR/meson.build"
    if grep -q 'unpack_edk2_blobs = bzip2.found()' "$SRC_DIR/meson.build"; then die "meson.build edk2 tweak failed"; fi
    touch "$BUILD_ROOT/.prepared"
fi

# ---- configure + build ------------------------------------------------------------------------
BUILD_DIR="$SRC_DIR/build"
BUILD_LOG="$BUILD_ROOT/build.log"
CONFIGURE_FLAGS=(
    --python=/usr/bin/python3
    --target-list=x86_64-softmmu
    --without-default-features
    --disable-docs --disable-werror --disable-download --disable-install-blobs
    --enable-tcg --enable-kvm
    --enable-vhost-user --enable-vhost-kernel
    --enable-fdt=system --enable-pixman
)
start=$(date +%s)
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    log "configuring (log: $BUILD_LOG)"
    mkdir -p "$BUILD_DIR"
    if ! (cd "$BUILD_DIR" && ../configure "${CONFIGURE_FLAGS[@]}") >>"$BUILD_LOG" 2>&1; then
        tail -n 40 "$BUILD_LOG" >&2
        rm -f "$BUILD_DIR/build.ninja"
        die "configure failed (full log: $BUILD_LOG)"
    fi
fi
log "building qemu-system-x86_64 with ninja -j$JOBS (6-12 minutes on 2 cores; log: $BUILD_LOG)"
if ! ninja -C "$BUILD_DIR" -j"$JOBS" qemu-system-x86_64 >>"$BUILD_LOG" 2>&1; then
    tail -n 40 "$BUILD_LOG" >&2
    die "ninja failed (full log: $BUILD_LOG)"
fi
end=$(date +%s)
log "build finished in $((end - start)) s"

check_binary "$BUILD_DIR/qemu-system-x86_64" \
    || die "built binary does not list vhost-user-device-pci in '-device help'"

# ---- install ----------------------------------------------------------------------------------
mkdir -p "$INSTALL_DIR"
cp "$BUILD_DIR/qemu-system-x86_64" "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
cp "$PATCH_FILE" "$INSTALL_DIR/vhost-user-media.patch"
{
    echo "qemu_version=$QEMU_VERSION"
    echo "source=$ORIG_TARBALL"
    echo "patch_sha256=$(sha256sum "$PATCH_FILE" | cut -d' ' -f1)"
    echo "configure=${CONFIGURE_FLAGS[*]}"
    echo "build_seconds=$((end - start))"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$INSTALL_DIR/BUILD-INFO"
if [[ $KEEP_BUILD -eq 0 ]]; then
    cp "$BUILD_LOG" "$INSTALL_DIR/build.log"
    rm -rf "$BUILD_ROOT"
fi
log "installed: $BIN"
echo "$BIN"
