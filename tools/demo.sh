#!/usr/bin/env bash
# The main job, end to end: what the project is for. The host camera service owns the camera (a synthetic
# test-pattern camera unless --camera names a real one) and the VM's permission; the VM's sidecar takes frames from
# it; a Debian guest under QEMU captures one stream through its /dev/videoN while the host runs
# `spectrum-camera ctl allow`, `deny`, `allow`. The guest sees black while denied and the camera while allowed, on
# one stream that never stops. Prints the timeline and writes a contact sheet, artifacts/demo/contact-sheet.png.
# First run about 6-8 minutes on 2 cores (most of it the QEMU build); later runs about 2 minutes, from the caches
# in $SPECTRUM_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
Usage: tools/demo.sh [--camera PATH|test-pattern] [--kernel 6.1|6.12] [--accel tcg|kvm]

Starts the camera service and one VM's sidecar on it, boots a Debian guest under QEMU with the Spectrum Camera
device, and captures $((FRAMES)) frames of 320x240 YUYV in the guest with v4l2-ctl while the host allows the VM
at frame 30, denies it 75 frames later and allows it again 75 frames after that ('spectrum-camera ctl').
Prints the timeline and writes artifacts/demo/contact-sheet.png: frames from each phase, labelled with the
permission and the frame's sequence number (logs, the raw capture and the audit log beside it).

  --camera   the host camera the service owns: a V4L2 node (/dev/v4l/by-id/...; 'spectrum-camera cameras' lists
             them) or test-pattern (default, a synthetic camera)
  --kernel   guest kernel series (default 6.1)
  --accel    tcg (default) or kvm

Exit status: 0 when the guest's frames followed the permission (black, camera, black, camera), 1 otherwise.
USAGE
}

CAMERA=test-pattern KERNEL=6.1 ACCEL=tcg VM=demo
FRAMES=240 SCHEDULE="allow@30,deny@+75,allow@+75"
while [ $# -gt 0 ]; do
  case "$1" in
    --camera) CAMERA="${2:?--camera needs a value}"; shift ;;
    --kernel) KERNEL="${2:?--kernel needs a value}"; shift ;;
    --accel) ACCEL="${2:?--accel needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tools/demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { echo "tools/demo.sh: $*" >&2; exit 1; }
OUT="$ROOT/artifacts/demo"
rm -rf "$OUT"; mkdir -p "$OUT/run" "$OUT/state"
START=$(date +%s)

step "1/7 installing packages (compiler, python3, ffmpeg and a font for the contact sheet)"
tools/install-deps.sh
tools/install-deps.sh fonts-dejavu-core
command -v dotnet >/dev/null || fail "the .NET 10 SDK (dotnet) is needed: https://dot.net"

step "2/7 building the patched QEMU 10.0.2 (5-10 minutes the first time, then cached)"
QEMU="$(tools/build-qemu.sh | tail -n 1)"; export QEMU
echo "QEMU: $QEMU"

step "3/7 fetching the Debian $KERNEL guest kernel and building the guest driver"
KBUILD="$(tools/fetch-guest-kernel.sh "$KERNEL" | sed -n 's/^KBUILD=//p')"
cp -r guest-kernel "$OUT/module"
make -C "$KBUILD" M="$OUT/module" modules > "$OUT/module-build.log" 2>&1 || fail "module build failed: $OUT/module-build.log"
echo "built $OUT/module/virtio_media_camera.ko"

step "4/7 building the guest initramfs (busybox, v4l-utils; cached base)"
printf 'FRAMES=%s\nSIZE=320x240\nFOURCC=YUYV\nBUFFERS=4\n' "$FRAMES" > "$OUT/perm.conf"
INITRD="$(tests/e2e/build-initramfs.sh --kernel "$KERNEL" --out "$OUT/initrd.img" \
  --module "$OUT/module/virtio_media_camera.ko" --script tests/e2e/guest/demo.sh \
  --add "tests/e2e/guest/permission.sh:/spectrum/files/permission.sh" \
  --add "tests/e2e/guest/lib.sh:/spectrum/files/e2e-lib.sh" \
  --add "$OUT/perm.conf:/spectrum/files/perm.conf" | tail -n 1)"

step "5/7 starting the camera service (camera: $CAMERA) and the VM's sidecar on it"
# No build servers left behind (MSBuild nodes, the compiler server): they would outlive the demo and keep whatever
# file descriptors it inherited, such as a lock taken around it.
dotnet build src/Spectrum.Camera.Cli -c Release -nologo -v quiet -nodeReuse:false -p:UseSharedCompilation=false \
  > "$OUT/dotnet-build.log" || fail "build failed: $OUT/dotnet-build.log"
CLI=(dotnet "$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll")
CTL=("${CLI[@]}" ctl --operator-socket "$OUT/run/operator.sock")
wait_socket() { for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
"${CLI[@]}" camera-service --camera "$CAMERA" --vm "$VM" --runtime-dir "$OUT/run" --state-dir "$OUT/state" \
  > "$OUT/camera-service.log" 2>&1 &
SERVICE=$!
SIDECAR="" GUEST=""
cleanup() { for p in $GUEST $SIDECAR $SERVICE; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_socket "$OUT/run/operator.sock" && wait_socket "$OUT/run/vms/$VM.sock" ||
  fail "the camera service did not start: $OUT/camera-service.log"
"${CLI[@]}" serve --socket-path "$OUT/camera.sock" --vm "$VM" --camera-service "$OUT/run/vms/$VM.sock" \
  > "$OUT/sidecar.log" 2>&1 &
SIDECAR=$!
wait_socket "$OUT/camera.sock" || fail "the sidecar did not start: $OUT/sidecar.log"
for _ in $(seq 50); do
  "${CTL[@]}" status "$VM" --json 2>/dev/null | grep -q '"sidecar_connected":true' && break
  sleep 0.1
done
"${CTL[@]}" status | sed 's/^/  /'

step "6/7 booting the guest under QEMU ($ACCEL); it captures while the host runs ctl allow, deny, allow"
tests/e2e/run-guest.sh --kernel "$KERNEL" --initrd "$INITRD" --out-dir "$OUT/guest" --socket "$OUT/camera.sock" \
  --accel "$ACCEL" --timeout 600 > /dev/null 2> "$OUT/run-guest.log" &
GUEST=$!
# The permission phase's driver: follows the guest's console and runs each ctl step at its frame count.
driver=0
python3 tests/e2e/permission_driver.py --console "$OUT/guest/console.log" --vm "$VM" --schedule "$SCHEDULE" \
  --timeout 540 --guest-pid "$GUEST" --out "$OUT/timeline.json" -- "${CTL[@]}" 2> >(sed -u 's/^\[permission\] /  host: /' >&2) || driver=$?
guest=0
wait "$GUEST" || guest=$?
GUEST=""
grep -a '^DEMO:' "$OUT/guest/console.log" | sed 's/^DEMO: /  guest: /'
[ "$guest" = 0 ] || fail "the guest failed (run-guest exit $guest): $OUT/guest/console.log, $OUT/run-guest.log"
[ "$driver" = 0 ] || fail "a ctl step failed or was not taken: $OUT/timeline.json"

# QEMU has exited, so the sidecar follows on its own (exit 0); the service stops on SIGTERM.
for _ in $(seq 100); do kill -0 "$SIDECAR" 2>/dev/null || break; sleep 0.1; done
"${CTL[@]}" audit "$VM" > "$OUT/audit.txt" 2>&1 || true
cleanup
wait || true
trap - EXIT

step "7/7 the timeline and the contact sheet"
"${CLI[@]}" verify-frames --format YUYV --size 320x240 --allow-black --json "$OUT/guest/results/perm.raw" \
  > "$OUT/frames.json" 2> "$OUT/frames.err" || true
rc=0
python3 tools/demo-sheet.py --results "$OUT/guest/results" --timeline "$OUT/timeline.json" \
  --frames "$OUT/frames.json" --size 320x240 --camera "$CAMERA" --vm "$VM" --out "$OUT/contact-sheet.png" || rc=$?
echo
echo "ctl audit $VM (the service's audit log):"
sed 's/^/  /' "$OUT/audit.txt"
echo
[ "$rc" = 0 ] || fail "the frames did not follow the permission (see above); everything is in $OUT"
echo "Done in $(( $(date +%s) - START )) s: $OUT/contact-sheet.png"
