#!/usr/bin/env bash
# The host-camera end-to-end test: the HostCamera library and 'spectrum-camera cameras' against a real V4L2 driver.
# The build machines have no camera and no kernel modules (they are containers), so the test runs the self-contained
# spectrum-camera inside a QEMU guest with the kernel's vivid driver, which the guest treats as its host camera.
# Writes artifacts/e2e-host-camera/ (every guest file, results.json with one check per line item) and exits non-zero
# if any check failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/host-camera.sh [--kernel 6.1|6.12] [--accel tcg|kvm] [--smp N] [--no-publish] [--judge-only]
                                [--service-only]

  --kernel      guest kernel (default 6.1).
  --accel       tcg (default; KVM fails on the build machines) or kvm.
  --smp         guest vCPUs (default 2: the camera service, two sidecars and two frontends run in the guest).
  --no-publish  reuse artifacts/e2e-host-camera/publish/spectrum-camera from an earlier run.
  --judge-only  only judge the guest results already in artifacts/e2e-host-camera/ (after changing the checks).
  --service-only  a development aid: run and judge only the camera-service part (not counted as a full run).

Publishes spectrum-camera self-contained for linux-x64 (single file, trimmed), builds an initramfs with it (and the
shared libraries ldd lists for it) plus tests/e2e/guest/host-camera.sh, boots it with tests/e2e/run-guest.sh (no
virtio-media socket), and judges the guest's results: 'cameras' lists vivid's formats; spectrum-camera-probe streams every
vivid format the guest menu can be fed from with the right sizes and strictly increasing sequence numbers; the mode
selection policy picks an exact and a smallest-larger mode; an unplug (vivid's Disconnect control) is reported as
such and streaming recovers when the device is back; a camera that appears later (vivid reloaded) is picked up.

Then the camera service (tests/e2e/guest/camera-service.sh): 'spectrum-camera camera-service' owns vivid, two
sidecars ('serve --camera-service') run as uids without access to /dev/video*, and spectrum-camera-frontend
(tests/Spectrum.Camera.FrontendTool) plays each VM against its sidecar: every guest format gets vivid's frames, a
size vivid lacks is scaled, two VMs stream at once, and one stream each lives through a deny and allow, an unplug
and replug, and a kill -9 and restart of the service (black meanwhile, never stopping); the camera is open only
while an allowed VM streams. Judged by tests/e2e/judge-camera-service.py.

Then two cameras (tests/e2e/guest/two-cameras.sh): two vivid instances with different pictures owned by one camera
service, a VM on each, one VM moved to the other camera and back while it streams (no black frame, the picture changes
from one frame to the next), and one camera unplugged (only its VM turns black). Judged by
tests/e2e/judge-two-cameras.py.

Output: artifacts/e2e-host-camera/{results.json,guest/,publish/,initrd.img}. Needs the .NET SDK; installs the rest.
USAGE
}

KERNEL=6.1 ACCEL=tcg SMP=2 PUBLISH=1 JUDGE_ONLY=0 SERVICE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) case "${2:-}" in 6.1|6.12) KERNEL="$2" ;; *) usage >&2; exit 2 ;; esac; shift ;;
    --accel) ACCEL="${2:?}"; shift ;;
    --smp) SMP="${2:?}"; shift ;;
    --service-only) SERVICE_ONLY=1 ;;
    --no-publish) PUBLISH=0 ;;
    --judge-only) JUDGE_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/e2e/host-camera.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

LOG_TAG=e2e-host-camera
OUT="$ROOT/artifacts/e2e-host-camera"
PUB="$OUT/publish"
START=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT/results.json"
if [ "$JUDGE_ONLY" = 0 ]; then
rm -rf "$OUT/guest" "$OUT/initrd.img" "$OUT/service-only"
[ "$SERVICE_ONLY" = 0 ] || touch "$OUT/service-only"

log "building the patched QEMU (cached after the first run)"
need_qemu

if [ "$PUBLISH" = 1 ] || [ ! -x "$PUB/spectrum-camera" ] || [ ! -x "$PUB/spectrum-camera-frontend" ] || [ ! -x "$PUB/spectrum-camera-probe" ]; then
    # Own artifacts path: the RID-specific restore must not race a solution build in the same tree.
    # Google.Protobuf (the camera service's protocol) is not annotated for trimming: its summary warning IL2104 would
    # fail the CLI's publish under TreatWarningsAsErrors. Our own assemblies are IsAotCompatible (analysed at build
    # time), and the guest run exercises the trimmed protocol code for real. ReadyToRun: a TCG guest JITs slowly (the
    # camera service took 10-30 s to start without it, with the host loaded).
    rm -rf "$PUB"
    for project in src/Spectrum.Camera.Cli tests/Spectrum.Camera.FrontendTool tests/Spectrum.Camera.CameraProbe; do
        log "publishing $project (self-contained, single file, trimmed, linux-x64)"
        dotnet publish "$ROOT/$project" -c Release -r linux-x64 --self-contained \
            -p:PublishSingleFile=true -p:PublishTrimmed=true -p:SuppressTrimAnalysisWarnings=true -p:PublishReadyToRun=true \
            -p:ArtifactsPath="$OUT/build" -o "$PUB" -nologo -v quiet \
            > "$OUT/publish.log" 2>&1 || { cat "$OUT/publish.log" >&2; log "publish of $project failed"; exit 1; }
    done
fi
BIN="$PUB/spectrum-camera"
FRONTEND="$PUB/spectrum-camera-frontend"
PROBE="$PUB/spectrum-camera-probe"
SETPRIV="$(command -v setpriv || true)"
[ -n "$SETPRIV" ] || { log "setpriv (util-linux) is missing on this host"; exit 1; }

# The guest's base initramfs has the libraries of v4l-utils, ffmpeg and GStreamer; the .NET single-file host also
# needs e.g. librt, and setpriv libcap-ng. Add every library ldd lists for the binaries at its own path (a file
# already in the base is replaced by the same file).
adds=(--add "$BIN:/spectrum/files/spectrum-camera" --add "$FRONTEND:/spectrum/files/spectrum-camera-frontend"
      --add "$PROBE:/spectrum/files/spectrum-camera-probe"
      --add "$SETPRIV:/spectrum/files/setpriv" --add "$E2E/guest/camera-service.sh:/spectrum/files/camera-service.sh"
      --add "$E2E/guest/two-cameras.sh:/spectrum/files/two-cameras.sh")
while read -r lib; do
    [ -n "$lib" ] || continue
    real="$(readlink -f "$lib")"
    case "$lib" in /lib/*) guest="/usr$lib" ;; *) guest="$lib" ;; esac
    adds+=(--add "$real:$guest")
done < <(ldd "$BIN" "$FRONTEND" "$SETPRIV" | awk '/=> \// {print $3}' | sort -u)
log "adding $(( ${#adds[@]} / 2 - 5 )) libraries from ldd"

INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/host-camera.sh" "${adds[@]}")"

log "booting the $KERNEL guest ($ACCEL)"
append=""
[ "$SERVICE_ONLY" = 0 ] || append="spectrum.service_only"
boot_guest "$OUT" --kernel "$KERNEL" --initrd "$INITRD" --accel "$ACCEL" --mem 1G --smp "$SMP" --append "$append" \
    --timeout 900
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $(cat "$OUT/run-guest.exit") after $(cat "$OUT/wall-seconds") s; judging"
fi

status=0
if [ -f "$OUT/service-only" ]; then
    echo '{"checks": []}' > "$OUT/results.json"
else
python3 "$E2E/judge_host_camera.py" "$OUT" "$KERNEL" || status=$?
fi
# The two-camera and camera-service checks join results.json; the camera-service judge's last line counts every check.
python3 "$E2E/judge-two-cameras.py" "$OUT" "$KERNEL" || status=$?
python3 "$E2E/judge-camera-service.py" "$OUT" "$KERNEL" || status=$?
exit "$status"
