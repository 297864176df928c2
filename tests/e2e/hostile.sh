#!/usr/bin/env bash
# The hostile-device phase: the guest driver against a device that answers with malformed data.
# Boots one guest (6.1 by default) on spectrum-camera-hostile-device (tests/Spectrum.Camera.HostileDevice: the real
# device and vhost-user backend, with answers and events corrupted on purpose; test-only, not reachable from any
# spectrum-camera flag). The guest (tests/e2e/guest/hostile.sh) switches faults in-band, runs clients under a
# watchdog and reloads the module after each fault. Writes DIR/results.json (one check per line item, counted by
# tools/test.sh) and DIR/summary.json; exits 1 if any check failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/hostile.sh [--out DIR] [--kernel 6.1|6.12] [--accel tcg|kvm] [--artifacts DIR] [--faults "a b ..."]

  --out        output directory (default artifacts/e2e-hostile; emptied first).
  --kernel     guest kernel series (default 6.1).
  --artifacts  MSBuild ArtifactsPath for building the hostile device and spectrum-camera (default: the repository's
               artifacts/build, as tools/test.sh builds them).
  --faults     only these faults (names from 'spectrum-camera-hostile-device --list-faults'); the honest baseline
               'none' always runs first and last, config-caps (after which the driver refuses to bind) always last.

Checks, per fault: the driver logged that it refused the bad data and the clients got errors (the baseline: frames
verified); every client exited (none hung, none in D state); no oops, BUG, WARN or other splat in dmesg; rmmod
succeeded and the module loaded again. Overall: the module builds without warnings, the guest ran to the end, the
hostile device exited 0 with QEMU and removed its socket.
USAGE
}

OUT="$ROOT/artifacts/e2e-hostile" KERNEL=6.1 ACCEL=tcg ARTIFACTS="" ONLY=""
parse_options "out kernel accel artifacts faults=ONLY" "$@"

start_phase e2e-hostile

ART="${ARTIFACTS:-$ROOT/artifacts/build}"
log "building spectrum-camera and the hostile device (Release)"
build_dotnet "$ARTIFACTS" src/Spectrum.Camera.Cli tests/Spectrum.Camera.HostileDevice
SIDECAR_DLL="$ART/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
HOSTILE_DLL="$ART/bin/Spectrum.Camera.HostileDevice/release/spectrum-camera-hostile-device.dll"

log "building the guest driver for $KERNEL"
build_module "$KERNEL" "$OUT" || true

# The fault list, in order: the honest baseline first and last, config-caps (refuses to bind; lasts) at the very end.
dotnet "$HOSTILE_DLL" --list-faults > "$OUT/faults-all.txt"
{
    awk '$2 == "none" { print $0, "none-before" }' "$OUT/faults-all.txt"
    awk -v only=" $ONLY " '$2 != "none" && $2 != "config-caps" && (only == "  " || index(only, " " $2 " ")) { print $0, $2 }' "$OUT/faults-all.txt"
    awk '$2 == "none" { print $0, "none-after" }' "$OUT/faults-all.txt"
    awk -v only=" $ONLY " '$2 == "config-caps" && (only == "  " || index(only, " " $2 " ")) { print $0, $2 }' "$OUT/faults-all.txt"
} > "$OUT/hostile-faults.txt"
log "faults: $(awk '{ printf "%s ", $4 }' "$OUT/hostile-faults.txt")"

if [ -f "$OUT/module/virtio_media_camera.ko" ]; then
    INITRD="$(initramfs "$KERNEL" "$OUT/initrd.img" "$E2E/guest/hostile.sh" --module "$OUT/module/virtio_media_camera.ko" \
        --add "$OUT/hostile-faults.txt:/spectrum/files/hostile-faults.txt" --add "$OUT/faults-all.txt:/spectrum/files/faults-all.txt" \
        --add "$E2E/guest/stalled-device.sh:/spectrum/files/stalled-device.sh")"

    SOCK="$OUT/hostile.sock"
    log "starting the hostile device"
    dotnet "$HOSTILE_DLL" --socket-path "$SOCK" --vm e2e-hostile > "$OUT/hostile-device.log" 2>&1 &
    HPID=$!
    trap 'kill $HPID 2>/dev/null || true' EXIT
    wait_socket "$SOCK" || log "the hostile device did not listen within 20 s (see hostile-device.log)"

    log "booting the $KERNEL guest ($ACCEL)"
    boot_guest "$OUT" --kernel "$KERNEL" --initrd "$INITRD" --socket "$SOCK" --accel "$ACCEL" --mem 1G \
        --results-size 256M --timeout 1500

    # QEMU has exited: the hostile device follows with exit 0 and removes its socket, like the real sidecar.
    reap "$HPID" "$OUT/hostile.exit"
    trap - EXIT
    socket_left "$SOCK" "$OUT/socket-after-exit"
fi
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $(cat "$OUT/run-guest.exit" 2>/dev/null || echo none), $(cat "$OUT/wall-seconds") s; judging"
judged=0
python3 "$E2E/judge_hostile.py" --out "$OUT" --sidecar "$SIDECAR_DLL" --kernel "$KERNEL" || judged=1
# The stalled-device test ran in the same guest before the faults; its checks join results.json.
python3 "$E2E/judge_stalled_device.py" --out "$OUT" --sidecar "$SIDECAR_DLL" || judged=1
exit $judged
