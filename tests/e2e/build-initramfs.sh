#!/usr/bin/env bash
# Build a guest initramfs: a cached per-kernel base cpio (busybox, V4L2 tools, ffmpeg, GStreamer,
# kernel modules, /init) plus a small per-run cpio (guest script, project modules, extra files).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'EOF'
Usage: tests/e2e/build-initramfs.sh --kernel 6.1|6.12 --out FILE
                                    [--module FILE.ko]... [--script GUEST-SCRIPT]
                                    [--add HOSTPATH[:GUESTPATH]]... [--no-autoload] [--rebuild-base]
                                    [--compress lz4|gzip|none]

Writes FILE = <cached base cpio for the kernel> + <small per-run cpio>. Linux unpacks concatenated
cpio archives in order, so the expensive base is built once per kernel (and per tool/package
versions) and each test only pays for the second archive.

Base (cached as $SPECTRUM_CACHE/initramfs/base-<KVER>-<hash>.cpio.<lz4|gz|raw>, ~15-30 s to build):
  busybox-static (+ applet links), v4l2-ctl, v4l2-compliance, media-ctl, ffmpeg, ffprobe,
  gst-launch-1.0, gst-inspect-1.0 and a set of GStreamer plugins (core elements, video4linux2,
  videoconvertscale, videotestsrc, ...), every shared library ldd reports, ld.so + ld.so.cache,
  the guest /init, and the kernel modules with their dependencies (decompressed, depmod'ed):
  6.1 only: virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci;
  both: virtio_blk mc videodev videobuf2-{common,memops,v4l2,vmalloc,dma-sg} vivid.
  Extra modules for the base: SPECTRUM_EXTRA_KMODS="mod1 mod2" (part of the cache key).

Per-run archive:
  --script FILE     guest script, run by /init as `sh /spectrum/guest-script.sh` (default: none,
                    /init then only reports the environment). Its exit code is the test result.
  --module FILE.ko  project module copied to /spectrum/modules/ (repeatable); /init insmods them in
                    the given order after the media core modules, unless --no-autoload.
  --add H[:G]       copy host file/dir H into the guest at G (default /spectrum/files/<basename>).
  --no-autoload     do not insmod the --module files at boot (the script does it itself).
  --rebuild-base    rebuild the cached base even if present.
  --compress C      compression of both archives (default lz4, legacy format as the kernel wants).
                    Measured under TCG with a 260 MB base: none 6.6 s to /init, lz4 (125 MB) 7.0 s,
                    zstd -19 (89 MB) 8.9 s, gzip -1 (112 MB) 10 s. The per-run archive is compressed
                    the same way: the kernel cannot find the end of an lz4-legacy member, so an
                    uncompressed cpio after it fails with "Initramfs unpacking failed: Decoding
                    failed" (two lz4 members form one valid stream).

Guest environment for the script (see /init): cwd /results; RESULTS=/results (everything in it is
returned to the host by run-guest.sh), SPECTRUM_MODULE_DIR=/spectrum/modules,
SPECTRUM_FILES=/spectrum/files, KVER; `modprobe vivid` works; GST_REGISTRY_1_0 is in /tmp.

Output: progress on stderr; FILE's absolute path on stdout.
EOF
}

log() { printf '[build-initramfs] %s\n' "$*" >&2; }
die() { printf '[build-initramfs] ERROR: %s\n' "$*" >&2; exit 1; }

SERIES=""
OUT=""
SCRIPT=""
MODULES=()
ADDS=()
AUTOLOAD=1
REBUILD_BASE=0
COMPRESS=lz4
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) [[ $# -ge 2 ]] || die "--kernel needs a value"; SERIES="$2"; shift ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a value"; OUT="$2"; shift ;;
        --module) [[ $# -ge 2 ]] || die "--module needs a value"; MODULES+=("$2"); shift ;;
        --script) [[ $# -ge 2 ]] || die "--script needs a value"; SCRIPT="$2"; shift ;;
        --add) [[ $# -ge 2 ]] || die "--add needs a value"; ADDS+=("$2"); shift ;;
        --no-autoload) AUTOLOAD=0 ;;
        --rebuild-base) REBUILD_BASE=1 ;;
        --compress) [[ $# -ge 2 ]] || die "--compress needs a value"; COMPRESS="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[[ "$SERIES" == 6.1 || "$SERIES" == 6.12 ]] || { usage >&2; die "--kernel must be 6.1 or 6.12"; }
[[ -n "$OUT" ]] || { usage >&2; die "--out is required"; }
case "$COMPRESS" in
    lz4) COMPRESSOR=(lz4 -q -l -9 -c); SUFFIX=lz4 ;;
    gzip) COMPRESSOR=(gzip -1 -c); SUFFIX=gz ;;
    none) COMPRESSOR=(cat); SUFFIX=raw ;;
    *) die "--compress must be lz4, gzip or none" ;;
esac
[[ -z "$SCRIPT" || -f "$SCRIPT" ]] || die "guest script not found: $SCRIPT"
for m in ${MODULES[@]+"${MODULES[@]}"}; do [[ -f "$m" ]] || die "module not found: $m"; done

APT=(apt-get -o DPkg::Lock::Timeout=1200 -q)
HOST_PACKAGES=(busybox-static v4l-utils ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base
               gstreamer1.0-plugins-good cpio kmod xz-utils gzip lz4 zstd libc-bin)
GUEST_BINARIES=(/usr/bin/v4l2-ctl /usr/bin/v4l2-compliance /usr/bin/media-ctl /usr/bin/ffmpeg /usr/bin/ffprobe
                /usr/bin/gst-launch-1.0 /usr/bin/gst-inspect-1.0)
GST_PLUGIN_DIR=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
GST_PLUGINS=(coreelements coretracers video4linux2 videoconvertscale videotestsrc videorate videocrop
             videofilter app typefindfunctions jpeg png multifile debug rawparse pbtypes)
# Loaded by /init in this order (after their dependencies); everything else (vivid) is only
# made available for modprobe.
BOOT_KMODS_61=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci)
BOOT_KMODS=(virtio_blk mc videodev videobuf2-common videobuf2-memops videobuf2-v4l2 videobuf2-vmalloc
            videobuf2-dma-sg)
OPTIONAL_KMODS=(vivid)
read -r -a EXTRA_KMODS <<< "${SPECTRUM_EXTRA_KMODS:-}"

# ---- host packages ------------------------------------------------------------------------------
pkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
missing=()
for p in "${HOST_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]} (note: busybox-static replaces the dynamic busybox package)"
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >&2 || {
        "${APT[@]}" update >&2
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >&2
    }
fi

# ---- kernel -------------------------------------------------------------------------------------
KINFO="$("$REPO_ROOT/tools/fetch-guest-kernel.sh" --no-headers "$SERIES")"
KVER="$(sed -n 's/^KVER=//p' <<< "$KINFO")"
MODDIR="$(sed -n 's/^MODDIR=//p' <<< "$KINFO")"
PKGVER="$(sed -n 's/^PKGVER=//p' <<< "$KINFO")"
[[ -n "$KVER" && -d "$MODDIR" ]] || die "fetch-guest-kernel.sh did not return a module tree"
KROOT="${MODDIR%/lib/modules/*}"

# ---- base cache key -----------------------------------------------------------------------------
KEY_INPUT="$(
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    echo "kernel=$KVER $PKGVER extra_kmods=${EXTRA_KMODS[*]:-}"
    dpkg-query -W -f='${Package}=${Version}\n' "${HOST_PACKAGES[@]}" libc6 libgstreamer1.0-0 \
        libv4l-0 libavdevice59 2>/dev/null | sort
)"
BASE_KEY="$(sha256sum <<< "$KEY_INPUT" | cut -c1-12)"
BASE_DIR="$CACHE/initramfs"
BASE="$BASE_DIR/base-$KVER-$BASE_KEY.cpio.$SUFFIX"
mkdir -p "$BASE_DIR"

# ---- guest /init --------------------------------------------------------------------------------
write_init() {
    cat > "$1" <<'INIT'
#!/bin/busybox sh
# Spectrum Camera e2e guest init. Never exits: always ends with poweroff -f.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb
export RESULTS=/results SPECTRUM_MODULE_DIR=/spectrum/modules SPECTRUM_FILES=/spectrum/files
export GST_REGISTRY_1_0=/tmp/gst-registry.bin GST_REGISTRY_FORK=no
export GST_PLUGIN_SYSTEM_PATH_1_0=/usr/lib/x86_64-linux-gnu/gstreamer-1.0

up() { read -r u _ < /proc/uptime; echo "$u"; }

finish() {
    rc="$1"
    echo "$rc" > /results/exit-code
    echo "script_end=$(up)" >> /results/timing
    dmesg > /results/dmesg.txt 2>/dev/null
    cat /proc/interrupts > /results/interrupts.txt 2>/dev/null
    echo "SPECTRUM-E2E: guest script exit code $rc"
    # The results disk is the virtio-blk device with serial "spectrum-results".
    dev=""
    for b in /sys/block/vd*; do
        [ -e "$b/serial" ] || continue
        if [ "$(cat "$b/serial")" = "spectrum-results" ]; then dev="/dev/${b##*/}"; fi
    done
    if [ -n "$dev" ] && [ -b "$dev" ]; then
        cd / && tar cf "$dev" results && sync && echo "SPECTRUM-E2E: results written to $dev"
    else
        echo "SPECTRUM-E2E: no results disk (serial spectrum-results) found"
    fi
    echo "SPECTRUM-E2E: poweroff"
    sync
    poweroff -f
    # poweroff -f should not return; keep PID 1 alive (exiting would panic) until the host kills us.
    while :; do sleep 3600; done
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /results /run /var/tmp
export KVER="$(uname -r)"
echo "init_start=$(up)" > /results/timing
echo "SPECTRUM-E2E: init start (kernel $KVER, uptime $(up))"

if [ ! -d "/lib/modules/$KVER" ]; then
    echo "SPECTRUM-E2E: ERROR: initramfs has no /lib/modules/$KVER (built for $(ls /lib/modules))"
    finish 125
fi

# Boot modules (list written at build time, in dependency order).
while read -r ko; do
    [ -n "$ko" ] || continue
    insmod "$ko" || echo "SPECTRUM-E2E: WARNING: insmod $ko failed"
done < /etc/spectrum/boot-modules

if [ ! -f /spectrum/overlay ]; then
    echo "SPECTRUM-E2E: ERROR: the per-run archive (/spectrum/overlay) is missing: initramfs unpacking failed?"
    finish 125
fi

if [ -f /spectrum/autoload ]; then
    while read -r ko; do
        [ -n "$ko" ] || continue
        # Load the dependencies it names that are not loaded yet (from the base's module tree).
        for dep in $(modinfo -F depends "/spectrum/modules/$ko" 2>/dev/null | tr ',' ' '); do
            grep -q "^$(echo "$dep" | tr - _) " /proc/modules || modprobe "$dep" \
                || echo "SPECTRUM-E2E: WARNING: modprobe $dep (needed by $ko) failed"
        done
        echo "SPECTRUM-E2E: insmod $ko"
        insmod "/spectrum/modules/$ko" || echo "SPECTRUM-E2E: WARNING: insmod $ko failed"
    done < /spectrum/autoload
fi
echo "modules_loaded=$(up)" >> /results/timing

rc=0
if [ -f /spectrum/guest-script.sh ]; then
    echo "script_start=$(up)" >> /results/timing
    echo "SPECTRUM-E2E: running guest script (uptime $(up))"
    cd /results
    # The script's output goes to the console and to /results/guest-script.log.
    ( sh /spectrum/guest-script.sh; echo $? > /tmp/.script-rc ) 2>&1 | tee /results/guest-script.log
    rc="$(cat /tmp/.script-rc 2>/dev/null || echo 126)"
    cd /
else
    echo "script_start=$(up)" >> /results/timing
    echo "SPECTRUM-E2E: no guest script; environment:"
    { uname -a; cat /proc/cmdline; lsmod; ls -l /dev/video* 2>&1; } | tee /results/environment.txt
fi
if grep -qw spectrum.shell /proc/cmdline; then
    echo "SPECTRUM-E2E: spectrum.shell: interactive shell on the console; 'exit' to finish and power off"
    setsid cttyhack sh -l
fi
finish "$rc"
INIT
}

# ---- base ---------------------------------------------------------------------------------------
copy_with_libs() {  # copy_with_libs STAGE FILE...: FILE and its ldd closure, at the same paths
    local stage="$1"; shift
    local f lib
    for f in "$@"; do
        mkdir -p "$stage$(dirname "$f")"
        cp -L "$f" "$stage$f"
        while read -r lib; do
            [[ -n "$lib" && ! -e "$stage$lib" ]] || continue
            mkdir -p "$stage$(dirname "$lib")"
            cp -L "$lib" "$stage$lib"
        done < <(ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\s*\/[^ ]+ \(/ {print $1}')
    done
}

build_base() {
    local t0 stage ko name rel
    t0=$(date +%s)
    stage="$(mktemp -d "$BASE_DIR/.stage.XXXXXX")"
    trap 'rm -rf "$stage"' EXIT
    log "building base initramfs for $KVER in $stage"

    # usr-merged layout, like the host (ldd reports /lib/x86_64-linux-gnu/...).
    mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc/spectrum,proc,sys,dev,tmp,root,results,spectrum/modules,spectrum/files}
    ln -s usr/bin "$stage/bin"; ln -s usr/sbin "$stage/sbin"
    ln -s usr/lib "$stage/lib"; ln -s usr/lib64 "$stage/lib64"
    chmod 1777 "$stage/tmp"
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3

    cp /usr/bin/busybox "$stage/usr/bin/busybox"
    local applet
    for applet in $(/usr/bin/busybox --list); do
        [[ "$applet" == busybox ]] && continue
        [[ -e "$stage/usr/bin/$applet" ]] || ln -s busybox "$stage/usr/bin/$applet"
    done

    copy_with_libs "$stage" "${GUEST_BINARIES[@]}"
    local plugins=() p
    for p in "${GST_PLUGINS[@]}"; do
        if [[ -f "$GST_PLUGIN_DIR/libgst$p.so" ]]; then plugins+=("$GST_PLUGIN_DIR/libgst$p.so")
        else log "note: GStreamer plugin $p not installed, skipped"; fi
    done
    copy_with_libs "$stage" "${plugins[@]}"
    # ld.so itself at the interpreter path, and a cache so the multiarch dirs are searched.
    cp -L /lib64/ld-linux-x86-64.so.2 "$stage/usr/lib64/ld-linux-x86-64.so.2"
    printf '/usr/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n' > "$stage/etc/ld.so.conf"
    ldconfig -r "$stage"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
    printf 'root:x:0:\nvideo:x:44:\n' > "$stage/etc/group"

    # Kernel modules: dependency closure, decompressed, depmod'ed.
    local want=() boot=()
    [[ "$SERIES" == 6.1 ]] && want+=("${BOOT_KMODS_61[@]}")
    want+=("${BOOT_KMODS[@]}")
    boot=("${want[@]}")
    want+=("${OPTIONAL_KMODS[@]}" ${EXTRA_KMODS[@]+"${EXTRA_KMODS[@]}"})
    local mstage="$stage/usr/lib/modules/$KVER"
    mkdir -p "$mstage"
    local f
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        [[ -f "$MODDIR/$f" ]] && cp "$MODDIR/$f" "$mstage/"
    done
    local m line path
    for m in "${want[@]}"; do
        while read -r line; do
            [[ "$line" == insmod\ * ]] || continue
            path="$(awk '{print $2}' <<< "$line")"
            rel="${path#"$MODDIR"/}"
            ko="${rel%.xz}"; ko="${ko%.zst}"
            [[ -f "$mstage/$ko" ]] && continue
            mkdir -p "$mstage/$(dirname "$ko")"
            case "$path" in
                *.xz) xz -dc "$path" > "$mstage/$ko" ;;
                *.zst) zstd -qdc "$path" > "$mstage/$ko" ;;
                *) cp "$path" "$mstage/$ko" ;;
            esac
        done < <(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>&1)
        modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" >/dev/null 2>&1 || die "modprobe cannot resolve $m for $KVER"
    done
    depmod -b "$stage" "$KVER"
    : > "$stage/etc/spectrum/boot-modules"
    for m in "${boot[@]}"; do
        while read -r line; do
            [[ "$line" == insmod\ * ]] || continue
            path="$(awk '{print $2}' <<< "$line")"
            rel="${path#"$MODDIR"/}"; ko="${rel%.xz}"; ko="${ko%.zst}"
            grep -qxF "/lib/modules/$KVER/$ko" "$stage/etc/spectrum/boot-modules" \
                || echo "/lib/modules/$KVER/$ko" >> "$stage/etc/spectrum/boot-modules"
        done < <(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>&1)
    done
    echo "$KVER" > "$stage/etc/spectrum/kernel"
    echo "$KEY_INPUT" > "$stage/etc/spectrum/base-key"

    write_init "$stage/init"
    chmod 755 "$stage/init"

    log "packing base cpio ($(du -sh "$stage" | cut -f1) staged)"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) \
        | "${COMPRESSOR[@]}" > "$BASE.tmp.$$"
    mv -f "$BASE.tmp.$$" "$BASE"
    # Drop stale bases of this kernel (older script or package versions).
    find "$BASE_DIR" -maxdepth 1 -name "base-$KVER-*" ! -name "base-$KVER-$BASE_KEY.*" -delete
    rm -rf "$stage"
    trap - EXIT
    log "base ready: $BASE ($(du -h "$BASE" | cut -f1)) in $(( $(date +%s) - t0 )) s"
}

exec 9>"$BASE_DIR/.lock"
flock 9
if [[ $REBUILD_BASE -eq 1 || ! -s "$BASE" ]]; then
    build_base
else
    log "cached base: $BASE"
fi
flock -u 9

# ---- per-run archive ----------------------------------------------------------------------------
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
mkdir -p "$run/spectrum/modules" "$run/spectrum/files"
# /init refuses to run without this marker: it proves the per-run archive was unpacked.
echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) kernel $KVER" > "$run/spectrum/overlay"
if [[ -n "$SCRIPT" ]]; then
    cp "$SCRIPT" "$run/spectrum/guest-script.sh"
    chmod 755 "$run/spectrum/guest-script.sh"
fi
: > "$run/spectrum/autoload-list"
for m in ${MODULES[@]+"${MODULES[@]}"}; do
    cp "$m" "$run/spectrum/modules/"
    basename "$m" >> "$run/spectrum/autoload-list"
done
if [[ $AUTOLOAD -eq 1 && -s "$run/spectrum/autoload-list" ]]; then
    mv "$run/spectrum/autoload-list" "$run/spectrum/autoload"
else
    rm -f "$run/spectrum/autoload-list"
fi
for a in ${ADDS[@]+"${ADDS[@]}"}; do
    src="${a%%:*}"
    if [[ "$a" == *:* ]]; then dst="${a#*:}"; else dst="/spectrum/files/$(basename "$src")"; fi
    [[ -e "$src" ]] || die "--add: $src not found"
    [[ "$dst" == /* ]] || die "--add: guest path must be absolute: $dst"
    mkdir -p "$run$(dirname "$dst")"
    cp -a "$src" "$run$dst"
done

mkdir -p "$(dirname "$OUT")"
OUT_ABS="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
{
    cat "$BASE"
    (cd "$run" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | "${COMPRESSOR[@]}"
} > "$OUT_ABS.tmp.$$"
mv -f "$OUT_ABS.tmp.$$" "$OUT_ABS"
log "wrote $OUT_ABS ($(du -h "$OUT_ABS" | cut -f1); kernel $KVER)"
echo "$OUT_ABS"
