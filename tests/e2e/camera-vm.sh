#!/usr/bin/env bash
# The camera-VM end-to-end phase: two QEMU guests. The camera VM drives a camera (vivid) and writes its frames into a
# virtio-media output device served by its producer sidecar ('serve --role producer'); the camera service takes that
# VM as its camera (--camera cam=vm:camvm); the consumer VM captures through its own sidecar. Writes
# artifacts/e2e-camera-vm/ (both guests' files, the host processes' logs, results.json with one check per line item)
# and exits non-zero if any check failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/camera-vm.sh [--kernel 6.1|6.12] [--accel tcg|kvm] [--judge-only]

  --kernel      both guests' kernel (default 6.1).
  --accel       tcg (default; KVM fails on the build machines) or kvm.
  --judge-only  only judge the results already in artifacts/e2e-camera-vm/ (after changing the checks).

On the host: 'spectrum-camera camera-service --camera cam=vm:camvm --vm camvm:UID --vm consumer:UID' (runtime and
state in the output directory), the camera VM's sidecar 'serve --role producer' on the service's producer socket
for camvm, and the consumer's sidecar 'serve --camera-service' on its VM socket. Then both guests, each with a second
serial port that is a host channel (tests/e2e/camera_vm_driver.py commands them through it):

  camera VM (tests/e2e/guest/camera-vm-producer.sh): vivid and the driver, the camera-VM agent
      (guest-kernel/scripts/camera-vm-agent.sh) first with a pipeline writing known frames (v4l2-ctl, YUYV 320x240),
      then with its own default pipeline (ffmpeg from vivid); its state (Frames Wanted, vivid open or not, the
      pipeline) on the console.
  consumer VM (tests/e2e/guest/camera-vm-consumer.sh): v4l2-ctl captures when the host says.

The driver's scenario: nobody streams (the camera VM must not open vivid); the consumer captures the known pattern
while the host allows, denies and allows it; nobody streams; the consumer captures vivid while the camera VM's ffmpeg
is killed (the agent restarts it) and the host denies; nobody streams. tests/e2e/judge_camera_vm.py judges: frames
exactly the known ones or black in the order black, real, black, real; vivid's colour bars or black in the order
black, real, black (killed), real, black (denied); the consumer's sequence unbroken; vivid closed whenever nobody
allowed watches; no kernel splat; every host process exits 0.

Output: artifacts/e2e-camera-vm/{results.json,timeline.json,camvm/,consumer/,*.log,*.exit}. Needs the .NET SDK;
installs the rest.
USAGE
}

guest_phase_options "$@"

OUT="$ROOT/artifacts/e2e-camera-vm"
CAMVM=camvm CONSUMER=consumer
if [ "$JUDGE_ONLY" = 0 ]; then
start_phase e2e-camera-vm
mkdir -p "$OUT/run" "$OUT/state" "$OUT/camvm" "$OUT/consumer"

log "building spectrum-camera and the guest driver for $KERNEL"
build_dotnet "" src/Spectrum.Camera.Cli
DLL="$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
build_module "$KERNEL" "$OUT" || exit 1
MODULE="$OUT/module/virtio_media_camera.ko"
python3 "$E2E/judge_camera_vm.py" --write-known "$OUT/known.yuyv"
CAMVM_INITRD="$(initramfs "$KERNEL" "$OUT/camvm/initrd.img" "$E2E/guest/camera-vm-producer.sh" --module "$MODULE" \
    --add "$ROOT/guest-kernel/scripts/camera-vm-agent.sh:/spectrum/files/camera-vm-agent.sh" \
    --add "$OUT/known.yuyv:/spectrum/files/known.yuyv")"
CONSUMER_INITRD="$(initramfs "$KERNEL" "$OUT/consumer/initrd.img" "$E2E/guest/camera-vm-consumer.sh" --module "$MODULE")"

SERVICE="" PRODUCER="" CONSUMER_SIDECAR=""
cleanup() {
    for pid in $PRODUCER $CONSUMER_SIDECAR $SERVICE; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
if ! camera_vm_host "$DLL" "$CAMVM" "$CONSUMER" "$OUT/camvm/camera.sock" "$OUT/consumer/camera.sock"; then
    cleanup
    trap - EXIT
    python3 "$E2E/judge_camera_vm.py" "$OUT" "$KERNEL" || true  # every check fails, saying why
    exit 1
fi

# Each guest's second serial port (/dev/ttyS1) is its host channel: a socket QEMU listens on.
channel() { echo -chardev "socket,id=hostctl,path=$1,server=on,wait=off" -serial chardev:hostctl; }
log "booting the camera VM and the consumer VM ($KERNEL, $ACCEL)"
# shellcheck disable=SC2046 # channel's words are QEMU arguments
boot_guest "$OUT/camvm" --kernel "$KERNEL" --initrd "$CAMVM_INITRD" --socket "$OUT/camvm/camera.sock" \
    --accel "$ACCEL" --mem 1G --timeout 900 -- $(channel "$OUT/camvm/ctl.sock") &
CAMVM_GUEST=$!
# shellcheck disable=SC2046
boot_guest "$OUT/consumer" --kernel "$KERNEL" --initrd "$CONSUMER_INITRD" --socket "$OUT/consumer/camera.sock" \
    --accel "$ACCEL" --mem 1G --timeout 900 -- $(channel "$OUT/consumer/ctl.sock") &
CONSUMER_GUEST=$!
for sock in "$OUT/camvm/ctl.sock" "$OUT/consumer/ctl.sock"; do
    wait_socket "$sock" 60 || log "QEMU did not create the host channel $sock (see */guest/qemu.log)"
done

drc=0
python3 "$E2E/camera_vm_driver.py" \
    --producer-console "$OUT/camvm/guest/console.log" --producer-control "$OUT/camvm/ctl.sock" \
    --consumer-console "$OUT/consumer/guest/console.log" --consumer-control "$OUT/consumer/ctl.sock" \
    --vm "$CONSUMER" --out "$OUT/timeline.json" \
    -- dotnet "$DLL" ctl --operator-socket "$OUT/run/operator.sock" 2> "$OUT/driver.log" || drc=$?
echo "$drc" > "$OUT/driver.exit"
wait "$CAMVM_GUEST" "$CONSUMER_GUEST"

ctl() { dotnet "$DLL" ctl --operator-socket "$OUT/run/operator.sock" "$@"; }
ctl cameras --json > "$OUT/cameras.json" 2>&1 || true
ctl status --json > "$OUT/status.json" 2>&1 || true
ctl audit "$CONSUMER" > "$OUT/audit.txt" 2>&1 || true
# Both QEMUs have exited: the sidecars follow with exit 0; the service stops on SIGTERM with exit 0.
reap "$PRODUCER" "$OUT/producer-sidecar.exit"
reap "$CONSUMER_SIDECAR" "$OUT/consumer-sidecar.exit"
PRODUCER="" CONSUMER_SIDECAR=""
kill -TERM "$SERVICE"
reap "$SERVICE" "$OUT/service.exit" 10
trap - EXIT
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "driver exit $drc, guests $(cat "$OUT/camvm/run-guest.exit") and $(cat "$OUT/consumer/run-guest.exit"), sidecars" \
    "$(cat "$OUT/producer-sidecar.exit") and $(cat "$OUT/consumer-sidecar.exit"), service $(cat "$OUT/service.exit"), $(cat "$OUT/wall-seconds") s"
fi

python3 "$E2E/judge_camera_vm.py" "$OUT" "$KERNEL"
