#!/usr/bin/env bash
# Fetch a Debian guest kernel (vmlinuz + modules, unpacked, not installed) and install the matching
# headers on the host for building out-of-tree guest modules.
set -euo pipefail

CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'EOF'
Usage: tools/fetch-guest-kernel.sh [--no-headers] 6.1|6.12

Resolves the exact Debian kernel behind the linux-image-amd64 / linux-headers-amd64 metapackages
(6.1: bookworm / bookworm-security; 6.12: bookworm-backports), downloads the -unsigned image package
with 'apt-get download', unpacks it with 'dpkg -x' into

  $SPECTRUM_CACHE/kernels/<KVER>/          (SPECTRUM_CACHE defaults to $HOME/.cache/spectrum-camera)

runs depmod on the unpacked module tree, and installs linux-headers-<KVER> on the host (needed to
build the guest module with `make -C $KBUILD M=$PWD modules`). Re-runs reuse the unpacked tree.

Options:
  --no-headers   do not install the host headers package (KBUILD is still printed)
  -h, --help     this text

Output on stdout (progress goes to stderr), e.g. for 6.1:
  KVER=6.1.0-56-amd64
  PKGVER=6.1.192-2
  VMLINUZ=$SPECTRUM_CACHE/kernels/6.1.0-56-amd64/boot/vmlinuz-6.1.0-56-amd64
  MODDIR=$SPECTRUM_CACHE/kernels/6.1.0-56-amd64/lib/modules/6.1.0-56-amd64
  KBUILD=/usr/src/linux-headers-6.1.0-56-amd64
The output can be eval'ed: eval "$(tools/fetch-guest-kernel.sh 6.1)".
EOF
}

log() { printf '[fetch-guest-kernel] %s\n' "$*" >&2; }
die() { printf '[fetch-guest-kernel] ERROR: %s\n' "$*" >&2; exit 1; }

HEADERS=1
SERIES=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-headers) HEADERS=0 ;;
        -h|--help) usage; exit 0 ;;
        6.1|6.12) [[ -z "$SERIES" ]] || die "kernel series given twice"; SERIES="$1" ;;
        *) usage >&2; die "unknown argument: $1 (expected 6.1 or 6.12)" ;;
    esac
    shift
done
[[ -n "$SERIES" ]] || { usage >&2; die "missing kernel series (6.1 or 6.12)"; }

APT=(apt-get -o DPkg::Lock::Timeout=1200 -q)
case "$SERIES" in
    6.1) RELEASE="" ;;
    6.12) RELEASE="bookworm-backports" ;;
esac

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        "${APT[@]}" update >&2
        APT_UPDATED=1
    fi
}

# Highest version of metapackage $1 whose upstream part is in series $SERIES (e.g. 6.1.192-2, not 6.12.x).
resolve_meta_version() {
    local meta="$1" v best=""
    while read -r v; do
        [[ "$v" == "$SERIES".* ]] || continue
        if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then best="$v"; fi
    done < <(apt-cache madison "$meta" 2>/dev/null | awk -F'|' '$3 ~ /Packages/ {gsub(/ /,"",$2); print $2}')
    echo "$best"
}

# Name of the package that metapackage $1 at version $2 depends on (linux-image-<KVER> / linux-headers-<KVER>).
resolve_meta_target() {
    local meta="$1" ver="$2" prefix="$3"
    apt-cache show "$meta=$ver" 2>/dev/null | awk '/^Depends:/ {sub(/^Depends: */,""); print; exit}' \
        | tr ',' '\n' | sed -E 's/^ *//; s/ .*//' | grep -E "^${prefix}[0-9]" | head -n1
}

# depmod (below) is kmod's; a minimal Debian install does not have it.
"$(dirname "${BASH_SOURCE[0]}")/install-deps.sh" kmod

if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && [[ "$SERIES" == 6.12 ]]; then
    die "bookworm-backports is not enabled (run tools/build-qemu.sh once, or add it to /etc/apt/sources.list.d)"
fi

META_VER="$(resolve_meta_version linux-image-amd64)"
if [[ -z "$META_VER" ]]; then
    apt_update_once
    META_VER="$(resolve_meta_version linux-image-amd64)"
fi
[[ -n "$META_VER" ]] || die "no linux-image-amd64 version $SERIES.* in the apt lists"
IMAGE_PKG="$(resolve_meta_target linux-image-amd64 "$META_VER" linux-image- || true)"
[[ -n "$IMAGE_PKG" ]] || die "could not resolve linux-image-amd64=$META_VER to a kernel package"
KVER="${IMAGE_PKG#linux-image-}"
HDR_META_VER="$(resolve_meta_version linux-headers-amd64)"
HEADERS_PKG="$(resolve_meta_target linux-headers-amd64 "$HDR_META_VER" linux-headers- || true)"
[[ "$HEADERS_PKG" == "linux-headers-$KVER" ]] \
    || die "linux-headers-amd64=$HDR_META_VER points at '$HEADERS_PKG', expected linux-headers-$KVER"
PKGVER="$(apt-cache show "$IMAGE_PKG-unsigned" 2>/dev/null \
    | awk -v s="$SERIES." '/^Version:/ && index($2, s) == 1 {print $2}' | sort -V | tail -n1 || true)"
[[ -n "$PKGVER" ]] || die "package $IMAGE_PKG-unsigned not found"
log "linux-image-amd64 $META_VER -> $IMAGE_PKG-unsigned $PKGVER"

ROOT="$CACHE/kernels/$KVER"
VMLINUZ="$ROOT/boot/vmlinuz-$KVER"
MODDIR="$ROOT/lib/modules/$KVER"
STAMP="$ROOT/.pkg-version"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$PKGVER" && -f "$VMLINUZ" && -f "$MODDIR/modules.dep" ]]; then
    log "cached: $ROOT"
else
    mkdir -p "$CACHE/kernels"
    tmp="$(mktemp -d "$CACHE/kernels/.fetch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    log "downloading $IMAGE_PKG-unsigned=$PKGVER"
    if ! (cd "$tmp" && "${APT[@]}" download "$IMAGE_PKG-unsigned=$PKGVER" >&2); then
        apt_update_once
        (cd "$tmp" && "${APT[@]}" download "$IMAGE_PKG-unsigned=$PKGVER" >&2) || die "apt-get download failed"
    fi
    deb="$(ls "$tmp"/*.deb)"
    log "unpacking $(basename "$deb")"
    mkdir -p "$tmp/root"
    dpkg -x "$deb" "$tmp/root"
    [[ -f "$tmp/root/boot/vmlinuz-$KVER" ]] || die "no boot/vmlinuz-$KVER in $deb"
    [[ -d "$tmp/root/lib/modules/$KVER" ]] || die "no lib/modules/$KVER in $deb"
    log "depmod -b ... $KVER"
    depmod -b "$tmp/root" "$KVER"
    echo "$PKGVER" > "$tmp/root/.pkg-version"
    rm -rf "$ROOT"
    mv "$tmp/root" "$ROOT"
fi

if [[ $HEADERS -eq 1 ]]; then
    status="$(dpkg-query -W -f='${Status} ${Version}' "linux-headers-$KVER" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed $PKGVER" ]]; then
        log "installing linux-headers-$KVER=$PKGVER on the host"
        args=(install -y --no-install-recommends)
        [[ -n "$RELEASE" ]] && args+=(-t "$RELEASE")
        if ! DEBIAN_FRONTEND=noninteractive "${APT[@]}" "${args[@]}" "linux-headers-$KVER=$PKGVER" >&2; then
            apt_update_once
            DEBIAN_FRONTEND=noninteractive "${APT[@]}" "${args[@]}" "linux-headers-$KVER=$PKGVER" >&2 \
                || die "could not install linux-headers-$KVER"
        fi
    fi
    [[ -f "/usr/src/linux-headers-$KVER/Makefile" ]] || die "/usr/src/linux-headers-$KVER is incomplete"
fi

echo "KVER=$KVER"
echo "PKGVER=$PKGVER"
echo "VMLINUZ=$VMLINUZ"
echo "MODDIR=$MODDIR"
echo "KBUILD=/usr/src/linux-headers-$KVER"
