#!/usr/bin/env bash
# The main job, end to end: build the patched QEMU, fetch a Debian guest kernel, build the guest driver, start the
# sidecar, boot the guest, capture one frame through the guest's /dev/videoN and save it as artifacts/demo/frame.png.
# First run about 6 minutes on 2 cores (5 of them the QEMU build); later runs about 1 minute, from the caches in
# $SPECTRUM_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
Usage: tools/demo.sh [--source test-pattern|black] [--kernel 6.1|6.12] [--accel tcg|kvm]

Boots a Debian guest under QEMU with the Spectrum Camera sidecar attached, captures one 1280x720 frame with
v4l2-ctl inside the guest and writes it to artifacts/demo/frame.png (logs beside it).
  --source   what the sidecar serves (default test-pattern; black is what a VM without permission sees)
  --kernel   guest kernel series (default 6.1)
  --accel    tcg (default) or kvm
USAGE
}

SOURCE=test-pattern KERNEL=6.1 ACCEL=tcg
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="${2:?}"; shift ;;
    --kernel) KERNEL="${2:?}"; shift ;;
    --accel) ACCEL="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tools/demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
OUT="$ROOT/artifacts/demo"
rm -rf "$OUT"; mkdir -p "$OUT"

step "1/7 installing packages (gcc, python3, ffmpeg for the PNG)"
tools/install-deps.sh
command -v ffmpeg >/dev/null || { sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo; DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=1200 install -y -qq ffmpeg; }
command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is needed: https://dot.net" >&2; exit 1; }

step "2/7 building the patched QEMU 10.0.2 (5-8 minutes the first time, then cached)"
QEMU="$(tools/build-qemu.sh | tail -n 1)"; export QEMU
echo "QEMU: $QEMU"

step "3/7 fetching the Debian $KERNEL guest kernel and building the guest driver"
KBUILD="$(tools/fetch-guest-kernel.sh "$KERNEL" | sed -n 's/^KBUILD=//p')"
rm -rf "$OUT/module"; cp -r guest-kernel "$OUT/module"
make -C "$KBUILD" M="$OUT/module" modules > "$OUT/module-build.log" 2>&1 || { echo "module build failed: $OUT/module-build.log" >&2; exit 1; }
echo "built $OUT/module/virtio_media_camera.ko"

step "4/7 building the guest initramfs (busybox, v4l-utils; cached base)"
INITRD="$(tests/e2e/build-initramfs.sh --kernel "$KERNEL" --out "$OUT/initrd.img" \
  --module "$OUT/module/virtio_media_camera.ko" --script tests/e2e/guest/demo.sh | tail -n 1)"

step "5/7 building and starting the sidecar (source: $SOURCE)"
dotnet build src/Spectrum.Camera.Cli -c Release -nologo -v quiet > "$OUT/dotnet-build.log"
SOCK="$OUT/camera.sock"
dotnet artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll serve --socket-path "$SOCK" --vm demo \
  --source "$SOURCE" 2> >(tee "$OUT/sidecar.log" | sed 's/^/  sidecar: /' >&2) &
SIDECAR=$!
trap 'kill $SIDECAR 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "the sidecar did not start: $OUT/sidecar.log" >&2; exit 1; }

step "6/7 booting the guest under QEMU ($ACCEL) and capturing through /dev/video0"
tests/e2e/run-guest.sh --kernel "$KERNEL" --initrd "$INITRD" --out-dir "$OUT/guest" --socket "$SOCK" \
  --accel "$ACCEL" --timeout 600 > /dev/null 2> "$OUT/run-guest.log" || { echo "the guest failed: $OUT/guest/console.log" >&2; exit 1; }
grep '^DEMO:' "$OUT/guest/console.log" | sed 's/^DEMO: /  guest: /'
wait $SIDECAR || true
trap - EXIT

step "7/7 converting the frame to PNG"
ffmpeg -hide_banner -loglevel error -y -f rawvideo -pixel_format yuyv422 -video_size 1280x720 \
  -i "$OUT/guest/results/frame.yuyv" -frames:v 1 "$OUT/frame.png"
dotnet artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll verify-frames --format YUYV --size 1280x720 \
  "$OUT/guest/results/frame.yuyv" || true
echo
echo "Done: $OUT/frame.png"
