#!/usr/bin/env bash
# The fault-injection phase, end to end with the real sidecar and the real camera service on one
# QEMU and one vhost-user connection: 20 guest reboots (a short capture after each), then in the last boot a long
# capture while the camera service is kill -9'd and restarted, a capture across a QMP stop/cont, and 100 module
# reloads (a short capture after every 10th); finally the VMM exits. The guest part is tests/e2e/guest/faults.sh.
# Host camera unplug/replug is covered by tests/e2e/host-camera.sh (vivid in a guest), not here.
# Writes DIR/results.json (one check per line item, counted by tools/test.sh) and DIR/summary.json.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/faults.sh [--out DIR] [--kernel 6.1|6.12] [--accel tcg|kvm] [--artifacts DIR] [--reboots N]
                           [--reloads N] [--down SECONDS]

  --out        output directory (default artifacts/e2e-faults; emptied first).
  --kernel     guest kernel series (default 6.1).
  --artifacts  MSBuild ArtifactsPath for building spectrum-camera (default: the repository's artifacts/build).
  --reboots    guest reboots on the one QEMU and sidecar connection (default 20).
  --reloads    module unload/reload cycles in the last boot (default 100).
  --down       how long the camera service stays dead after its kill -9 (default 3 s).

Host (tests/e2e/faults_driver.py): 'spectrum-camera camera-service --camera test-pattern --vm e2e-faults:0', 'ctl
allow e2e-faults', a sidecar 'serve --camera-service ...' with its socket alone in DIR/sidecar-run/, QEMU with
--allow-reset. The driver follows the guest's console markers ("FAULTS-E2E: ..."): kill -9 of the service at frame 60 of the long capture and
a restart --down seconds later; QMP stop at frame 45 of the next capture and cont 2 s later. After QEMU exits it
records the sidecar's exit and what it left behind, the service's view (ctl status --json) and the service's exit on
SIGTERM. tests/e2e/judge_faults.py judges.
USAGE
}

OUT="$ROOT/artifacts/e2e-faults" KERNEL=6.1 ACCEL=tcg ARTIFACTS="" REBOOTS=20 RELOADS=100 DOWN=3
parse_options "out kernel accel artifacts reboots=REBOOTS reloads=RELOADS down=DOWN" "$@"

start_phase e2e-faults

log "building spectrum-camera (Release)"
build_dotnet "$ARTIFACTS" src/Spectrum.Camera.Cli
SIDECAR_DLL="${ARTIFACTS:-$ROOT/artifacts/build}/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"

log "building the guest driver for $KERNEL"
build_module "$KERNEL" "$OUT" || true

SVC_FRAMES=240 STOP_FRAMES=150 SMALL_FRAMES=15
printf 'REBOOTS=%s\nRELOADS=%s\nSVC_FRAMES=%s\nSTOP_FRAMES=%s\nSMALL_FRAMES=%s\n' \
    "$REBOOTS" "$RELOADS" "$SVC_FRAMES" "$STOP_FRAMES" "$SMALL_FRAMES" > "$OUT/faults.conf"
if [ -f "$OUT/module/virtio_media_camera.ko" ]; then
    INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/faults.sh" --module "$OUT/module/virtio_media_camera.ko" \
        --add "$OUT/faults.conf:/spectrum/files/faults.conf")"
    log "running: $REBOOTS reboots, camera service kill -9 mid-stream, QMP stop/cont, $RELOADS reloads, VMM exit"
    python3 "$E2E/faults_driver.py" --out "$OUT" --sidecar "$SIDECAR_DLL" --kernel "$KERNEL" --accel "$ACCEL" \
        --initrd "$INITRD" --down "$DOWN" 2> "$OUT/driver.log" || log "the driver failed (see driver.log)"
fi
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "done in $(cat "$OUT/wall-seconds") s; judging"
python3 "$E2E/judge_faults.py" --out "$OUT" --sidecar "$SIDECAR_DLL" --reboots "$REBOOTS" --reloads "$RELOADS" \
    --svc-frames "$SVC_FRAMES" --stop-frames "$STOP_FRAMES" --small-frames "$SMALL_FRAMES" --down "$DOWN"
