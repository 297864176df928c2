#!/usr/bin/env bash
# The browser phase of the end-to-end tests: real Chromium and Firefox, PipeWire and WirePlumber in a Debian 12 guest
# read the Spectrum Camera devices through the project's driver. One boot: three sidecars give the guest three
# cameras (the test pattern, serve --source black, and one fed by the camera service), the browsers run one after the
# other against a local test page, then PipeWire. Writes DIR/results.json (one check per line item, counted by
# tools/test.sh) and DIR/summary.json; exits 1 if any check failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/browser.sh [--out DIR] [--kernel 6.1|6.12] [--accel tcg|kvm] [--smp N] [--mem SIZE]
                            [--browsers "chromium firefox"] [--frames N] [--artifacts DIR] [--judge-only]

  --out        output directory (default artifacts/e2e-browser; emptied first unless --judge-only).
  --kernel     guest kernel series (default 6.1).
  --accel      tcg (default; KVM fails on the build machines) or kvm.
  --smp        guest vCPUs (default 2: the browsers are multi-process; the sidecars idle while they start).
  --mem        guest RAM (default 3G).
  --browsers   which browsers, in order (default "chromium firefox").
  --frames     frames the page reads back from each steady capture (default 10; at most 30 s each).
  --artifacts  MSBuild ArtifactsPath for building spectrum-camera (default: the repository's artifacts/build).
  --judge-only judge DIR again without booting.

The guest: the cached initramfs base with the project's driver, which mounts the browser root filesystem
(tests/e2e/build-browser-rootfs.sh: Debian 12 with chromium, firefox-esr, pipewire, wireplumber,
gstreamer1.0-pipewire, v4l-utils, dbus, udev; a raw ext4 image attached with snapshot=on) and chroots into it
(tests/e2e/guest/browser.sh, then tests/e2e/guest/browser/browser-session.sh). The host starts
'spectrum-camera camera-service --camera test-pattern --vm e2e-browser:0' and allows the VM, and three sidecars:
  "Spectrum Camera"   serve --source test-pattern
  "Spectrum Black"    serve --source black (what a VM without camera permission sees)
  "Spectrum Service"  serve --camera-service (tests/e2e/browser_driver.py runs ctl deny/allow when the page asks)
Checks (tests/e2e/judge-browser.py), for each browser: the cameras are listed with their card names once
permission is granted; getUserMedia at 640x480 and 1280x720 with getSettings() reporting the size at 30 fps; the
frames are the sidecar's test pattern (numbers read from the pixels increase; the rates are stated); the black
camera offers the same settings and every frame is black; through the camera service a deny turns the call black
within a second, the track stays live, an allow brings real frames back, the device list never changes. PipeWire:
each camera is a Video/Source node named after its card; pipewiresrc frames verify as the test pattern. Overall:
the module builds without warnings, the guest ran to the end without a kernel splat, the sidecars exit 0 with QEMU
and the camera service on SIGTERM.
USAGE
}

OUT="$ROOT/artifacts/e2e-browser" KERNEL=6.1 ACCEL=tcg SMP=2 MEM=3G BROWSERS="chromium firefox" FRAMES=10
ARTIFACTS="" JUDGE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT="${2:?}"; shift ;;
    --kernel) case "${2:-}" in 6.1|6.12) KERNEL="$2" ;; *) usage >&2; exit 2 ;; esac; shift ;;
    --accel) ACCEL="${2:?}"; shift ;;
    --smp) SMP="${2:?}"; shift ;;
    --mem) MEM="${2:?}"; shift ;;
    --browsers) BROWSERS="${2:?}"; shift ;;
    --frames) FRAMES="${2:?}"; shift ;;
    --artifacts) ARTIFACTS="${2:?}"; shift ;;
    --judge-only) JUDGE_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/e2e/browser.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[e2e-browser] %s\n' "$*" >&2; }
VM=e2e-browser
PATTERN_CARD="Spectrum Camera" BLACK_CARD="Spectrum Black" SERVICE_CARD="Spectrum Service"
ART="${ARTIFACTS:-$ROOT/artifacts/build}"
SIDECAR_DLL="$ART/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
judge() {
    python3 "$HERE/judge-browser.py" --out "$OUT" --sidecar "$SIDECAR_DLL" --browsers "$BROWSERS" --frames "$FRAMES" \
        --cards "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD"
}
if [ "$JUDGE_ONLY" = 1 ]; then judge; exit $?; fi

rm -rf "$OUT"
mkdir -p "$OUT/run" "$OUT/state"
OUT="$(cd "$OUT" && pwd)"
START=$(date +%s)
[ -n "${QEMU:-}" ] || { QEMU="$("$ROOT/tools/build-qemu.sh" | tail -n 1)"; export QEMU; }

log "building spectrum-camera (Release)"
dotnet build "$ROOT/src/Spectrum.Camera.Cli" -c Release -nologo -v quiet ${ARTIFACTS:+-p:ArtifactsPath="$ARTIFACTS"} >&2

log "building the guest driver for $KERNEL"
kinfo="$("$ROOT/tools/fetch-guest-kernel.sh" "$KERNEL")"
kbuild="$(sed -n 's/^KBUILD=//p' <<<"$kinfo")"
moddir="$(sed -n 's/^MODDIR=//p' <<<"$kinfo")"
kver="$(sed -n 's/^KVER=//p' <<<"$kinfo")"
rm -rf "$OUT/module"; cp -r "$ROOT/guest-kernel" "$OUT/module"
make -C "$kbuild" M="$OUT/module" modules > "$OUT/module-build.log" 2>&1 || log "module build failed (see module-build.log)"

log "the browser root filesystem (cached; the first build takes several minutes)"
ROOTFS_IMG="$("$HERE/build-browser-rootfs.sh" | tail -n 1)"
cp "${ROOTFS_IMG%.img}.versions" "$OUT/rootfs-versions.txt" 2>/dev/null || true

# ext4 and its dependencies for the guest, decompressed, in load order (Debian builds ext4 as a module).
mkdir -p "$OUT/files/kmods"
: > "$OUT/files/kmods/order"
while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    ko="$(basename "$path")"; ko="${ko%.xz}"; ko="${ko%.zst}"
    case "$path" in
    *.xz) xz -dc "$path" > "$OUT/files/kmods/$ko" ;;
    *.zst) zstd -qdc "$path" > "$OUT/files/kmods/$ko" ;;
    *) cp "$path" "$OUT/files/kmods/$ko" ;;
    esac
    echo "$ko" >> "$OUT/files/kmods/order"
done < <(modprobe -d "${moddir%/lib/modules/*}" -S "$kver" --show-depends ext4)
{
    printf 'BROWSERS=%q\nFRAMES=%q\n' "$BROWSERS" "$FRAMES"
    printf 'PATTERN_CARD=%q\nBLACK_CARD=%q\nSERVICE_CARD=%q\n' "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD"
} > "$OUT/files/browser.conf"

SIDECARS=() SERVICE=""
cleanup() {
    local p
    for p in "${SIDECARS[@]}" $SERVICE; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
ctl() { dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" "$@"; }

if [ -f "$OUT/module/virtio_media_camera.ko" ]; then
    INITRD="$("$HERE/build-initramfs.sh" --kernel "$KERNEL" --out "$OUT/initrd.img" \
        --module "$OUT/module/virtio_media_camera.ko" --script "$HERE/guest/browser.sh" \
        --add "$OUT/files/kmods:/spectrum/files/kmods" --add "$HERE/guest/browser:/spectrum/files/browser" \
        --add "$OUT/files/browser.conf:/spectrum/files/browser.conf" | tail -n 1)"

    log "starting the camera service (test-pattern camera, VM $VM) and allowing the VM"
    dotnet "$SIDECAR_DLL" camera-service --camera test-pattern --vm "$VM:0" --runtime-dir "$OUT/run" \
        --state-dir "$OUT/state" > "$OUT/camera-service.log" 2>&1 &
    SERVICE=$!
    wait_socket "$OUT/run/operator.sock" || log "the camera service did not create its sockets (see camera-service.log)"
    ctl allow "$VM" > "$OUT/allow-at-start.log" 2>&1 || log "ctl allow failed (see allow-at-start.log)"

    log "starting three sidecars: '$PATTERN_CARD' (test pattern), '$BLACK_CARD' (black), '$SERVICE_CARD' (camera service)"
    mkdir -p "$OUT/sockets"
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/pattern.sock" --vm "$VM" --card "$PATTERN_CARD" \
        --source test-pattern > "$OUT/sidecar-pattern.log" 2>&1 &
    SIDECARS+=($!)
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/black.sock" --vm "$VM" --card "$BLACK_CARD" \
        --source black > "$OUT/sidecar-black.log" 2>&1 &
    SIDECARS+=($!)
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/service.sock" --vm "$VM" --card "$SERVICE_CARD" \
        --camera-service "$OUT/run/vms/$VM.sock" > "$OUT/sidecar-service.log" 2>&1 &
    SIDECARS+=($!)
    for s in pattern black service; do wait_socket "$OUT/sockets/$s.sock" || log "the $s sidecar did not listen"; done

    device() {  # the extra cameras: the same device line run-guest.sh uses for --socket
        printf '%s\n' -chardev "socket,id=$1,path=$2" \
            -device "vhost-user-device-pci,chardev=$1,virtio-id=48,num_vqs=2,vq_size=256,config_size=40"
    }
    mapfile -t EXTRA < <(device cam-black "$OUT/sockets/black.sock"; device cam-service "$OUT/sockets/service.sock")
    EXTRA+=(-drive "file=$ROOTFS_IMG,format=raw,if=none,id=rootfs,snapshot=on"
            -device virtio-blk-pci,drive=rootfs,serial=spectrum-rootfs)

    log "booting the $KERNEL guest ($ACCEL, $SMP vCPUs, $MEM): ${BROWSERS// /, } then PipeWire"
    mkdir -p "$OUT/guest"
    : > "$OUT/guest/console.log"
    "$HERE/run-guest.sh" --kernel "$KERNEL" --initrd "$INITRD" --out-dir "$OUT/guest" \
        --socket "$OUT/sockets/pattern.sock" --accel "$ACCEL" --smp "$SMP" --mem "$MEM" --results-size 256M \
        --timeout 1500 -- "${EXTRA[@]}" > /dev/null 2> "$OUT/run-guest.log" &
    GUEST=$!
    drc=0
    python3 "$HERE/browser_driver.py" --console "$OUT/guest/console.log" --vm "$VM" --pid "$GUEST" --timeout 1560 \
        --out "$OUT/timeline.json" -- dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" \
        2> "$OUT/driver.log" || drc=$?
    echo "$drc" > "$OUT/driver.exit"
    rc=0
    wait "$GUEST" || rc=$?
    echo "$rc" > "$OUT/run-guest.exit"

    ctl status "$VM" --json > "$OUT/status-after.json" 2> "$OUT/status-after.err" || true
    ctl audit "$VM" --json > "$OUT/audit.json" 2> "$OUT/audit.err" || true

    # QEMU has exited: each sidecar follows with exit 0; the service stops on SIGTERM with exit 0.
    names=(pattern black service)
    for i in 0 1 2; do
        p="${SIDECARS[$i]}" src=0
        for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$p" 2>/dev/null; then kill "$p"; echo timeout > "$OUT/sidecar-${names[$i]}.exit"; wait "$p" || true
        else wait "$p" || src=$?; echo "$src" > "$OUT/sidecar-${names[$i]}.exit"; fi
    done
    SIDECARS=()
    kill -TERM "$SERVICE"
    vrc=0
    for _ in $(seq 100); do kill -0 "$SERVICE" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVICE" 2>/dev/null; then kill -KILL "$SERVICE"; echo timeout > "$OUT/service.exit"; wait "$SERVICE" || true
    else wait "$SERVICE" || vrc=$?; echo "$vrc" > "$OUT/service.exit"; fi
    SERVICE=""
fi
trap - EXIT
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $(cat "$OUT/run-guest.exit" 2>/dev/null || echo none), $(cat "$OUT/wall-seconds") s; judging"
judge
