#!/usr/bin/env bash
# The camera-permission phase of the end-to-end suite: a guest streams from a sidecar fed by the host
# camera service while the host allows and denies the VM's camera permission. tests/e2e/run.sh runs it after the
# kernel suites; tests/e2e/evaluate.py --permission DIR judges the result.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/permission.sh --out DIR --sidecar DLL [--kernel 6.1|6.12] [--module KO] [--accel tcg|kvm]
                               [--frames N] [--schedule SPEC]

  --out       output directory (emptied first).
  --sidecar   the built spectrum-camera.dll (run.sh passes its Release build).
  --kernel    guest kernel series (default 6.1).
  --module    the guest driver built for that kernel (default: built here from guest-kernel/).
  --frames    frames the guest captures (default 360: 12 s at 30 fps, 320x240 YUYV).
  --schedule  permission steps keyed to the guest's dequeued-frame count (default allow@30,deny@+110,allow@+90:
              default deny for 30 frames, allowed for 110, denied for 90, allowed again to the end).

Starts 'spectrum-camera camera-service --camera test-pattern --vm e2e-perm:0' (runtime and state directories in
DIR), a sidecar with --camera-service DIR/run/vms/e2e-perm.sock, and the guest (tests/e2e/guest/permission.sh) on
it; tests/e2e/permission_driver.py follows the guest's console and runs 'spectrum-camera ctl allow|deny e2e-perm'
per the schedule. Afterwards it saves 'ctl status --json' and 'ctl audit --json', stops the service (SIGTERM) and
records every exit status. Writes everything to DIR; exits 0 unless the phase could not run at all.
USAGE
}

OUT="" SIDECAR_DLL="" KERNEL=6.1 MODULE="" ACCEL=tcg FRAMES=360 SCHEDULE="allow@30,deny@+110,allow@+90"
parse_options "out kernel accel sidecar=SIDECAR_DLL module=MODULE frames=FRAMES schedule=SCHEDULE" "$@"
[ -n "$OUT" ] && [ -n "$SIDECAR_DLL" ] || { usage >&2; exit 2; }

VM=e2e-perm
start_phase e2e-permission
mkdir -p "$OUT/run" "$OUT/state"

if [ -z "$MODULE" ]; then
    log "building the guest driver for $KERNEL"
    build_module "$KERNEL" "$OUT" || exit 1
    MODULE="$OUT/module/virtio_media_camera.ko"
fi

printf 'FRAMES=%s\nSIZE=320x240\nFOURCC=YUYV\nBUFFERS=4\n' "$FRAMES" > "$OUT/perm.conf"
INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/permission.sh" --module "$MODULE" \
    --add "$OUT/perm.conf:/spectrum/files/perm.conf")"

ctl() { dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" "$@"; }

log "starting the camera service (test-pattern camera, VM $VM)"
dotnet "$SIDECAR_DLL" camera-service --camera test-pattern --vm "$VM:0" --runtime-dir "$OUT/run" \
    --state-dir "$OUT/state" > "$OUT/camera-service.log" 2>&1 &
SERVICE=$!
SIDECAR=""
cleanup() {
    [ -n "$SIDECAR" ] && kill "$SIDECAR" 2>/dev/null || true
    kill "$SERVICE" 2>/dev/null || true
}
trap cleanup EXIT
if ! wait_socket "$OUT/run/vms/$VM.sock" || ! wait_socket "$OUT/run/operator.sock"; then
    log "the camera service did not create its sockets (see camera-service.log)"
    echo "no sockets" > "$OUT/setup-failed"; exit 0
fi

log "starting the sidecar on the camera service"
dotnet "$SIDECAR_DLL" serve --socket-path "$OUT/camera.sock" --vm "$VM" \
    --camera-service "$OUT/run/vms/$VM.sock" > "$OUT/sidecar.log" 2>&1 &
SIDECAR=$!
if ! wait_socket "$OUT/camera.sock"; then
    log "the sidecar did not listen (see sidecar.log)"
    echo "no sidecar socket" > "$OUT/setup-failed"; exit 0
fi
# The sidecar connects to the service on its own; give it a moment, then record the starting state.
for _ in $(seq 50); do
    ctl status "$VM" --json > "$OUT/status-before.json" 2> "$OUT/status-before.err" || true
    grep -q '"sidecar_connected":true' "$OUT/status-before.json" && break
    sleep 0.1
done

log "booting the $KERNEL guest ($ACCEL); the host toggles permission at: $SCHEDULE"
boot_guest "$OUT" --kernel "$KERNEL" --initrd "$INITRD" --socket "$OUT/camera.sock" --accel "$ACCEL" --mem 1G \
    --results-size 256M --timeout 600 &
GUEST=$!
drc=0
python3 "$E2E/permission_driver.py" --console "$OUT/guest/console.log" --vm "$VM" --schedule "$SCHEDULE" \
    --timeout 540 --guest-pid "$GUEST" --out "$OUT/timeline.json" \
    -- dotnet "$SIDECAR_DLL" ctl --operator-socket "$OUT/run/operator.sock" 2> "$OUT/driver.log" || drc=$?
echo "$drc" > "$OUT/driver.exit"
wait "$GUEST"

# Counters reach the service about once a second and at the stream's stop, which came before the guest's "end".
ctl status "$VM" --json > "$OUT/status-after.json" 2> "$OUT/status-after.err" || echo "exit $?" >> "$OUT/status-after.err"
ctl status > "$OUT/status-after.txt" 2>&1 || true
ctl audit "$VM" --json > "$OUT/audit.json" 2> "$OUT/audit.err" || echo "exit $?" >> "$OUT/audit.err"
ctl audit "$VM" > "$OUT/audit.txt" 2>&1 || true

# QEMU has exited: the sidecar follows with exit 0; the service stops on SIGTERM with exit 0.
reap "$SIDECAR" "$OUT/sidecar.exit"
SIDECAR=""
kill -TERM "$SERVICE"
reap "$SERVICE" "$OUT/service.exit" 10
trap - EXIT
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $(cat "$OUT/run-guest.exit"), driver exit $drc, sidecar exit $(cat "$OUT/sidecar.exit"), service exit $(cat "$OUT/service.exit"), $(cat "$OUT/wall-seconds") s"
