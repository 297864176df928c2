#!/usr/bin/env bash
# The output-node phase: the guest driver on the producer sidecar's virtio-media output device ('serve --role
# producer'), in one QEMU guest (the camera VM), with real producers and the camera-VM agent. Writes
# artifacts/e2e-output-node/<kernel>/ (the guest's files, every host process's log, results.json with one check per
# line item) and exits non-zero if any check failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/output-node.sh [--kernel 6.1|6.12] [--accel tcg|kvm] [--judge-only]

  --kernel      the camera VM's kernel (default 6.1).
  --accel       tcg (default; KVM fails on the build machines) or kvm.
  --judge-only  only judge the results already in artifacts/e2e-output-node/<kernel>/.

On the host: 'spectrum-camera camera-service --camera cam=vm:camvm --vm camvm:UID --vm viewer:UID' (runtime and
state in the output directory), the camera VM's sidecar 'serve --role producer' on the service's producer socket,
the viewer's sidecar 'serve --camera-service' on its VM socket, and spectrum-camera-frontend playing the viewer VM on
it: one YUYV 640x480 stream all along, which makes the service want the camera VM's frames while the viewer is
allowed (tests/e2e/output_node_driver.py allows and denies it when the guest asks on its console).

In the camera VM (tests/e2e/guest/output-node.sh), on the output node: v4l2-compliance without and with -s (vivid
as the DMABUF exporter); Frames Wanted and its V4L2_EVENT_CTRL (v4l2-ctl --wait-for-event) when the host starts and
stops wanting frames, and the demanded format; producers while frames are wanted: ffmpeg -f v4l2 (write()), in
YUYV and NV12, GStreamer v4l2sink (mmap and userptr), v4l2-ctl MMAP, USERPTR and DMABUF; then the camera-VM agent
(guest-kernel/scripts/camera-vm-agent.sh) with its default ffmpeg pipeline from vivid: vivid closed until frames
are wanted, open while they are, open again after its ffmpeg is killed, closed when they no longer are.
tests/e2e/judge_output_node.py judges, with the viewer's frames: real frames while each producer runs.

Output: artifacts/e2e-output-node/<kernel>/{results.json,timeline.json,frames.jsonl,guest/,*.log,*.exit}.
Run it under the machine's QEMU lock: flock -o /tmp/spectrum-e2e.lock tests/e2e/output-node.sh
USAGE
}

guest_phase_options "$@"

OUT="$ROOT/artifacts/e2e-output-node/$KERNEL"
CAMVM=camvm VIEWER=viewer
if [ "$JUDGE_ONLY" = 0 ]; then
start_phase "e2e-output-node-$KERNEL"
mkdir -p "$OUT/run" "$OUT/state"

log "building spectrum-camera, spectrum-camera-frontend and the guest driver for $KERNEL"
build_dotnet "" src/Spectrum.Camera.Cli tests/Spectrum.Camera.FrontendTool
DLL="$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
FRONTEND_DLL="$ROOT/artifacts/build/bin/Spectrum.Camera.FrontendTool/release/spectrum-camera-frontend.dll"
build_module "$KERNEL" "$OUT" || exit 1
INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/output-node.sh" --module "$OUT/module/virtio_media_camera.ko" \
    --add "$ROOT/guest-kernel/scripts/camera-vm-agent.sh:/spectrum/files/camera-vm-agent.sh")"

SERVICE="" PRODUCER="" CONSUMER_SIDECAR=""
cleanup() {
    for pid in $PRODUCER $CONSUMER_SIDECAR $SERVICE; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
camera_vm_host "$DLL" "$CAMVM" "$VIEWER" "$OUT/camera.sock" "$OUT/viewer.sock" || exit 1

log "booting the camera VM ($KERNEL, $ACCEL)"
boot_guest "$OUT" --kernel "$KERNEL" --initrd "$INITRD" --socket "$OUT/camera.sock" --accel "$ACCEL" --mem 1G \
    --timeout 900 &
GUEST=$!
drc=0
python3 "$E2E/output_node_driver.py" --console "$OUT/guest/console.log" --vm "$VIEWER" \
    --frontend "dotnet $FRONTEND_DLL --socket $OUT/viewer.sock --stream YUYV:640x480@30 --frame-timeout 30 --max-seconds 900" \
    --fifo "$OUT/frontend.fifo" --frames "$OUT/frames.jsonl" --out "$OUT/timeline.json" \
    -- dotnet "$DLL" ctl --operator-socket "$OUT/run/operator.sock" 2> "$OUT/driver.log" || drc=$?
echo "$drc" > "$OUT/driver.exit"
wait "$GUEST"

ctl() { dotnet "$DLL" ctl --operator-socket "$OUT/run/operator.sock" "$@"; }
ctl cameras --json > "$OUT/cameras.json" 2>&1 || true
ctl status --json > "$OUT/status.json" 2>&1 || true
# QEMU and the frontend have exited: both sidecars follow with exit 0; the service stops on SIGTERM with exit 0.
reap "$PRODUCER" "$OUT/producer-sidecar.exit"
reap "$CONSUMER_SIDECAR" "$OUT/consumer-sidecar.exit"
PRODUCER="" CONSUMER_SIDECAR=""
kill -TERM "$SERVICE"
reap "$SERVICE" "$OUT/service.exit" 10
trap - EXIT
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "driver exit $drc, guest $(cat "$OUT/run-guest.exit"), sidecars $(cat "$OUT/producer-sidecar.exit") and" \
    "$(cat "$OUT/consumer-sidecar.exit"), service $(cat "$OUT/service.exit"), $(cat "$OUT/wall-seconds") s"
fi

python3 "$E2E/judge_output_node.py" "$OUT" "$KERNEL"
