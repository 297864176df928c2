#!/usr/bin/env bash
# The browser phase of the end-to-end tests: real Chromium and Firefox, PipeWire and WirePlumber in a Debian 12 guest
# read the Spectrum Camera devices through the project's driver. One boot: three sidecars give the guest three
# cameras (the test pattern, serve --source black, and one fed by the camera service), the browsers run one after the
# other against a local test page, then PipeWire. Writes DIR/results.json (one check per line item, counted by
# tools/test.sh) and DIR/summary.json; exits 1 if any check failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/browser.sh [--out DIR] [--kernel 6.1|6.12] [--accel tcg|kvm] [--smp N] [--mem SIZE]
                            [--browsers "chromium firefox"] [--frames N] [--artifacts DIR]

  --out        output directory (default artifacts/e2e-browser; emptied first).
  --kernel     guest kernel series (default 6.1).
  --accel      tcg (default; KVM fails on the build machines) or kvm.
  --smp        guest vCPUs (default 2: the browsers are multi-process).
  --mem        guest RAM (default 3G).
  --browsers   which browsers, in order (default "chromium firefox").
  --frames     frames the page reads back from each steady capture, over at least 2 s (default 10).
  --artifacts  MSBuild ArtifactsPath for building spectrum-camera (default: the repository's artifacts/build).

The guest: the cached initramfs base with the project's driver, which mounts the browser root filesystem
(tests/e2e/build-browser-rootfs.sh: Debian 12 with chromium, firefox-esr, pipewire, wireplumber,
gstreamer1.0-pipewire, v4l-utils, dbus, udev; a raw ext4 image attached with snapshot=on) and runs the session from it
(tests/e2e/guest/browser.sh, then tests/e2e/guest/browser/browser-session.sh). The host starts
'spectrum-camera camera-service --camera test-pattern --vm e2e-browser:0', allows the VM, and starts three sidecars:
  "Spectrum Camera"   serve --source test-pattern
  "Spectrum Black"    serve --source black (what a VM without camera permission sees)
  "Spectrum Service"  serve --camera-service (tests/e2e/browser_driver.py runs ctl deny/allow when the page asks)
Checks (tests/e2e/judge_browser.py), for each browser: the cameras are listed with their card names once permission is
granted; getUserMedia at 640x480 and 1280x720 with getSettings() reporting the size at 30 fps; the frames are the
sidecar's test pattern (numbers read from the pixels increase at 30/s; the rate the page draws is stated); the black
camera offers the same settings and every frame is black; through the camera service a deny turns the call black
within a second, the track stays live, an allow brings real frames back, the device list never changes. PipeWire:
each camera is a Video/Source node named after its card; pipewiresrc frames verify as the test pattern. Overall: the
module builds without warnings, the guest ran to the end without a kernel splat, the sidecars exit 0 with QEMU and the
camera service on SIGTERM. To judge a run again: python3 tests/e2e/judge_browser.py --out DIR --sidecar DLL.
USAGE
}

OUT="$ROOT/artifacts/e2e-browser" KERNEL=6.1 ACCEL=tcg ARTIFACTS="" SMP=2 MEM=3G BROWSERS="chromium firefox" FRAMES=10
parse_options "out kernel accel artifacts smp=SMP mem=MEM browsers=BROWSERS frames=FRAMES" "$@"

VM=e2e-browser
PATTERN_CARD="Spectrum Camera" BLACK_CARD="Spectrum Black" SERVICE_CARD="Spectrum Service"
start_phase e2e-browser
mkdir -p "$OUT/run" "$OUT/state" "$OUT/sockets" "$OUT/files/kmods"

ART="${ARTIFACTS:-$ROOT/artifacts/build}"
log "building spectrum-camera (Release)"
build_dotnet "$ARTIFACTS" src/Spectrum.Camera.Cli
SIDECAR_DLL="$ART/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"

log "building the guest driver for $KERNEL"
build_module "$KERNEL" "$OUT" || true

log "the browser root filesystem (cached; the first build takes several minutes)"
ROOTFS_IMG="$("$E2E/build-browser-rootfs.sh" | tail -n 1)"
cp "${ROOTFS_IMG%.img}.versions" "$OUT/rootfs-versions.txt"

# ext4 and its dependencies for the guest, decompressed, in load order (Debian builds ext4 as a module).
kinfo="$("$ROOT/tools/fetch-guest-kernel.sh" --no-headers "$KERNEL")"
moddir="$(sed -n 's/^MODDIR=//p' <<<"$kinfo")"
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
done < <(modprobe -d "${moddir%/lib/modules/*}" -S "$(sed -n 's/^KVER=//p' <<<"$kinfo")" --show-depends ext4)
{
    printf 'BROWSERS=%q\nFRAMES=%q\n' "$BROWSERS" "$FRAMES"
    printf 'PATTERN_CARD=%q\nBLACK_CARD=%q\nSERVICE_CARD=%q\n' "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD"
} > "$OUT/files/browser.conf"

SIDECARS=() SERVICE=""
cleanup() {
    local p
    for p in ${SIDECARS[@]+"${SIDECARS[@]}"} $SERVICE; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
ctl() { dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" "$@"; }

if [ -f "$OUT/module/virtio_media_camera.ko" ]; then
    INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/browser.sh" --module "$OUT/module/virtio_media_camera.ko" \
        --add "$OUT/files/kmods:/spectrum/files/kmods" --add "$E2E/guest/browser:/spectrum/files/browser" \
        --add "$OUT/files/browser.conf:/spectrum/files/browser.conf")"

    log "starting the camera service (test-pattern camera, VM $VM) and allowing the VM"
    dotnet "$SIDECAR_DLL" camera-service --camera test-pattern --vm "$VM:0" --runtime-dir "$OUT/run" \
        --state-dir "$OUT/state" > "$OUT/camera-service.log" 2>&1 &
    SERVICE=$!
    wait_socket "$OUT/run/operator.sock" || log "the camera service did not create its sockets within 20 s"
    ctl allow "$VM" > "$OUT/allow-at-start.log" 2>&1 || log "ctl allow failed (see allow-at-start.log)"

    log "starting three sidecars: '$PATTERN_CARD' (test pattern), '$BLACK_CARD' (black), '$SERVICE_CARD' (camera service)"
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/pattern.sock" --vm "$VM" --card "$PATTERN_CARD" \
        --source test-pattern > "$OUT/sidecar-pattern.log" 2>&1 &
    SIDECARS+=($!)
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/black.sock" --vm "$VM" --card "$BLACK_CARD" \
        --source black > "$OUT/sidecar-black.log" 2>&1 &
    SIDECARS+=($!)
    dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/sockets/service.sock" --vm "$VM" --card "$SERVICE_CARD" \
        --camera-service "$OUT/run/vms/$VM.sock" > "$OUT/sidecar-service.log" 2>&1 &
    SIDECARS+=($!)
    for s in pattern black service; do wait_socket "$OUT/sockets/$s.sock" || log "the $s sidecar did not listen within 20 s"; done

    # The two more cameras, as run-guest.sh attaches the one of --socket, and the root filesystem. snapshot=on keeps the
    # guest's writes in a temporary file of QEMU's, so the cached image stays as built.
    EXTRA=()
    for s in black service; do
        EXTRA+=(-chardev "socket,id=cam-$s,path=$OUT/sockets/$s.sock"
                -device "vhost-user-device-pci,chardev=cam-$s,virtio-id=48,num_vqs=2,vq_size=256,config_size=40")
    done
    EXTRA+=(-drive "file=$ROOTFS_IMG,format=raw,if=none,id=rootfs,snapshot=on"
            -device virtio-blk-pci,drive=rootfs,serial=spectrum-rootfs)

    log "booting the $KERNEL guest ($ACCEL, $SMP vCPUs, $MEM): ${BROWSERS// /, } then PipeWire"
    mkdir -p "$OUT/guest"
    : > "$OUT/guest/console.log"
    boot_guest "$OUT" --kernel "$KERNEL" --initrd "$INITRD" --socket "$OUT/sockets/pattern.sock" --accel "$ACCEL" \
        --smp "$SMP" --mem "$MEM" --results-size 256M --timeout 1200 -- "${EXTRA[@]}" &
    GUEST=$!
    drc=0
    python3 "$E2E/browser_driver.py" --console "$OUT/guest/console.log" --vm "$VM" --pid "$GUEST" --timeout 1260 \
        --out "$OUT/timeline.json" -- dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" \
        2> "$OUT/driver.log" || drc=$?
    echo "$drc" > "$OUT/driver.exit"
    wait "$GUEST"

    ctl status "$VM" --json > "$OUT/status-after.json" 2> "$OUT/status-after.err" || true
    ctl audit "$VM" --json > "$OUT/audit.json" 2> "$OUT/audit.err" || true

    # QEMU has exited: each sidecar follows with exit 0; the service stops on SIGTERM with exit 0.
    names=(pattern black service)
    for i in 0 1 2; do
        reap "${SIDECARS[$i]}" "$OUT/sidecar-${names[$i]}.exit"
        socket_left "$OUT/sockets/${names[$i]}.sock" "$OUT/sidecar-${names[$i]}.socket-after-exit"
    done
    SIDECARS=()
    kill -TERM "$SERVICE"
    reap "$SERVICE" "$OUT/service.exit" 10
    SERVICE=""
fi
trap - EXIT
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $(cat "$OUT/run-guest.exit" 2>/dev/null || echo none), $(cat "$OUT/wall-seconds") s; judging"
python3 "$E2E/judge_browser.py" --out "$OUT" --sidecar "$SIDECAR_DLL" --browsers "$BROWSERS" --frames "$FRAMES" \
    --cards "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD"
