#!/usr/bin/env bash
# Boot a test guest under the patched QEMU, optionally with the sidecar's vhost-user socket as a
# virtio-media (id 48) device, and collect the guest's /results.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

usage() {
    cat <<'EOF'
Usage: tests/e2e/run-guest.sh --kernel 6.1|6.12 --initrd FILE --out-dir DIR
                              [--socket PATH] [--accel tcg|kvm] [--mem 1G] [--smp N]
                              [--timeout SECONDS] [--append "KERNEL ARGS"] [--allow-reset]
                              [--qemu PATH] [--results-size 256M] [--console] [--interactive]
                              [--device-name NAME] [-- EXTRA QEMU ARGS...]

Boots qemu-system-x86_64 (the patched binary from tools/build-qemu.sh, or --qemu / $QEMU) with
  -machine q35,memory-backend=mem -object memory-backend-memfd,id=mem,size=MEM,share=on
  -L /usr/share/seabios -L /usr/share/qemu -nic none -nographic -no-reboot
  -kernel <Debian vmlinuz from tools/fetch-guest-kernel.sh> -initrd FILE
and, with --socket, the sidecar's socket as the virtio-media device:
  -chardev socket,id=cam,path=PATH
  -device vhost-user-device-pci,chardev=cam,virtio-id=48,num_vqs=2,vq_size=256,config_size=40
The sidecar must already be listening on PATH (QEMU connects as client and refuses to start otherwise).

Files in --out-dir (created; old results there are removed):
  console.log      guest serial console (kernel log + /init + guest script output)
  qemu.log         QEMU's own stderr/stdout
  qemu-cmdline.txt the exact QEMU command line
  qmp.sock         QMP socket while the guest runs (one client at a time), e.g.
                   printf '{"execute":"qmp_capabilities"}{"execute":"stop"}' | socat - UNIX:DIR/qmp.sock
  results.img      raw virtio-blk disk (serial "spectrum-results"); the guest writes `tar cf` of
                   /results to it just before powering off
  results/         the extracted /results: exit-code, guest-script.log, timing, dmesg.txt, ... and
                   whatever the guest script wrote to $RESULTS
  timing.txt       host-side wall-clock figures

Options:
  --accel tcg|kvm  tcg (default): -accel tcg -cpu max; kvm: -accel kvm -cpu host
  --mem SIZE       guest RAM (default 1G); the memfd backend has the same size
  --smp N          vCPUs (default 1: the 2-core host also runs the sidecar; use 2 for SMP tests)
  --timeout S      kill QEMU after S seconds (default 300)
  --append ARGS    extra kernel command line
  --allow-reset    omit -no-reboot, so guest reboots and QMP system_reset restart the guest (the
                   initramfs then runs /init and the guest script again)
  --results-size   size of the results disk (default 256M)
  --console        also echo the guest console to stderr while it runs
  --interactive    serial console on this terminal (still logged to console.log); the guest gets
                   `spectrum.shell` and opens a shell after the guest script; `exit` finishes as
                   usual. No timeout in this mode. QEMU's mux escape: Ctrl-A X quits.
  --device-name N  the vhost-user device type (default vhost-user-device-pci, the patched 10.0
                   name; QEMU >= 10.2 calls it vhost-user-test-device-pci)
  -- ARGS          passed to QEMU verbatim (after everything else)

Exit status: 0 guest script passed; 1 guest script failed (its code is in results/exit-code);
  2 usage error; 3 QEMU failed or the guest produced no results (see console.log, qemu.log);
  4 timeout.
The last line on stdout is the out dir's absolute path.
EOF
}

log() { printf '[run-guest] %s\n' "$*" >&2; }
die() { printf '[run-guest] ERROR: %s\n' "$*" >&2; exit "${2:-2}"; }

SERIES=""
INITRD=""
OUT=""
SOCK=""
ACCEL=tcg
MEM=1G
SMP=1
TIMEOUT=300
APPEND=""
ALLOW_RESET=0
QEMU_BIN="${QEMU:-}"
RESULTS_SIZE=256M
ECHO_CONSOLE=0
INTERACTIVE=0
DEVICE_NAME=vhost-user-device-pci
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) [[ $# -ge 2 ]] || die "--kernel needs a value"; SERIES="$2"; shift ;;
        --initrd) [[ $# -ge 2 ]] || die "--initrd needs a value"; INITRD="$2"; shift ;;
        --out-dir) [[ $# -ge 2 ]] || die "--out-dir needs a value"; OUT="$2"; shift ;;
        --socket) [[ $# -ge 2 ]] || die "--socket needs a value"; SOCK="$2"; shift ;;
        --accel) [[ $# -ge 2 ]] || die "--accel needs a value"; ACCEL="$2"; shift ;;
        --mem) [[ $# -ge 2 ]] || die "--mem needs a value"; MEM="$2"; shift ;;
        --smp) [[ $# -ge 2 ]] || die "--smp needs a value"; SMP="$2"; shift ;;
        --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; TIMEOUT="$2"; shift ;;
        --append) [[ $# -ge 2 ]] || die "--append needs a value"; APPEND="$2"; shift ;;
        --allow-reset) ALLOW_RESET=1 ;;
        --qemu) [[ $# -ge 2 ]] || die "--qemu needs a value"; QEMU_BIN="$2"; shift ;;
        --results-size) [[ $# -ge 2 ]] || die "--results-size needs a value"; RESULTS_SIZE="$2"; shift ;;
        --console) ECHO_CONSOLE=1 ;;
        --interactive) INTERACTIVE=1 ;;
        --device-name) [[ $# -ge 2 ]] || die "--device-name needs a value"; DEVICE_NAME="$2"; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[[ "$SERIES" == 6.1 || "$SERIES" == 6.12 ]] || { usage >&2; die "--kernel must be 6.1 or 6.12"; }
[[ -n "$INITRD" && -f "$INITRD" ]] || { usage >&2; die "--initrd FILE is required and must exist"; }
[[ -n "$OUT" ]] || { usage >&2; die "--out-dir is required"; }
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
case "$ACCEL" in
    tcg) ACCEL_ARGS=(-accel tcg -cpu max) ;;
    kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
    *) die "--accel must be tcg or kvm" ;;
esac
if [[ -n "$SOCK" && ! -S "$SOCK" ]]; then
    log "warning: $SOCK is not a socket (yet); QEMU will fail to connect unless something listens there"
fi

if [[ -z "$QEMU_BIN" ]]; then
    QEMU_BIN="$("$REPO_ROOT/tools/build-qemu.sh" | tail -n1)"
fi
[[ -x "$QEMU_BIN" ]] || die "QEMU binary not executable: $QEMU_BIN"
KINFO="$("$REPO_ROOT/tools/fetch-guest-kernel.sh" --no-headers "$SERIES")"
VMLINUZ="$(sed -n 's/^VMLINUZ=//p' <<< "$KINFO")"
[[ -f "$VMLINUZ" ]] || die "no vmlinuz for $SERIES"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT/results" "$OUT/results.img" "$OUT/console.log" "$OUT/qemu.log" "$OUT/qmp.sock" "$OUT/timing.txt"
mkdir -p "$OUT/results"
truncate -s "$RESULTS_SIZE" "$OUT/results.img"
: > "$OUT/console.log"

CMDLINE="console=ttyS0,115200 panic=-1 loglevel=7 ${APPEND}"
if [[ $INTERACTIVE -eq 1 ]]; then
    CMDLINE+=" spectrum.shell"
    SERIAL_ARGS=(-chardev "stdio,id=ser0,mux=on,signal=off,logfile=$OUT/console.log" -serial chardev:ser0)
else
    SERIAL_ARGS=(-serial "file:$OUT/console.log")
fi
QEMU_ARGS=(
    "$QEMU_BIN"
    "${ACCEL_ARGS[@]}"
    -machine q35,memory-backend=mem
    -object "memory-backend-memfd,id=mem,size=$MEM,share=on"
    -m "$MEM" -smp "$SMP"
    -L /usr/share/seabios -L /usr/share/qemu
    -nic none -nographic -monitor none
    "${SERIAL_ARGS[@]}"
    -qmp "unix:$OUT/qmp.sock,server=on,wait=off"
    -kernel "$VMLINUZ" -initrd "$INITRD" -append "$CMDLINE"
    -drive "file=$OUT/results.img,format=raw,if=none,id=out"
    -device virtio-blk-pci,drive=out,serial=spectrum-results
)
[[ $ALLOW_RESET -eq 1 ]] || QEMU_ARGS+=(-no-reboot)
if [[ -n "$SOCK" ]]; then
    QEMU_ARGS+=(
        -chardev "socket,id=cam,path=$SOCK"
        -device "$DEVICE_NAME,chardev=cam,virtio-id=48,num_vqs=2,vq_size=256,config_size=40"
    )
fi
QEMU_ARGS+=(${EXTRA[@]+"${EXTRA[@]}"})
printf '%q ' "${QEMU_ARGS[@]}" > "$OUT/qemu-cmdline.txt"
echo >> "$OUT/qemu-cmdline.txt"

TAIL_PID=""
QEMU_PID=""
cleanup() {
    [[ -n "$QEMU_PID" ]] && kill "$QEMU_PID" 2>/dev/null || true
    [[ -n "$TAIL_PID" ]] && kill "$TAIL_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $ECHO_CONSOLE -eq 1 ]]; then
    tail -n +1 -f "$OUT/console.log" >&2 &
    TAIL_PID=$!
fi

log "booting $SERIES ($(basename "$VMLINUZ")) accel=$ACCEL mem=$MEM smp=$SMP timeout=${TIMEOUT}s${SOCK:+ socket=$SOCK}"
log "console: $OUT/console.log  qmp: $OUT/qmp.sock"
t0=$(date +%s.%N)
status=""
script_seen=""
if [[ $INTERACTIVE -eq 1 ]]; then
    qemu_rc=0
    "${QEMU_ARGS[@]}" 2> "$OUT/qemu.log" || qemu_rc=$?
else
    "${QEMU_ARGS[@]}" < /dev/null > "$OUT/qemu.log" 2>&1 &
    QEMU_PID=$!
    deadline=$(( $(date +%s) + TIMEOUT ))
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        if [[ -z "$script_seen" ]] && grep -qa 'SPECTRUM-E2E: running guest script\|SPECTRUM-E2E: no guest script' "$OUT/console.log"; then
            script_seen=$(date +%s.%N)
        fi
        if (( $(date +%s) >= deadline )); then
            status=timeout
            log "timeout after ${TIMEOUT}s: killing QEMU (pid $QEMU_PID)"
            kill "$QEMU_PID" 2>/dev/null || true
            sleep 2
            kill -9 "$QEMU_PID" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    qemu_rc=0
    wait "$QEMU_PID" 2>/dev/null || qemu_rc=$?
    QEMU_PID=""
fi
t1=$(date +%s.%N)
if [[ -n "$TAIL_PID" ]]; then sleep 0.3; kill "$TAIL_PID" 2>/dev/null || true; TAIL_PID=""; fi
rm -f "$OUT/qmp.sock"

{
    echo "qemu_wall_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
    [[ -n "$script_seen" ]] && echo "host_start_to_script_seconds=$(awk -v a="$t0" -v b="$script_seen" 'BEGIN {printf "%.2f", b - a}')"
    echo "qemu_exit_code=$qemu_rc"
    echo "accel=$ACCEL smp=$SMP mem=$MEM kernel=$(basename "$VMLINUZ")"
} > "$OUT/timing.txt"

# Extract /results from the raw disk (a tar stream from offset 0; all zeros if the guest never wrote).
if [[ -n "$(head -c 512 "$OUT/results.img" | tr -d '\0')" ]]; then
    tar -xf "$OUT/results.img" -C "$OUT" 2>>"$OUT/qemu.log" || log "warning: results.img is not a complete tar archive"
fi
if [[ -f "$OUT/results/timing" ]]; then
    sed 's/^/guest_uptime_/' "$OUT/results/timing" >> "$OUT/timing.txt"
fi

if grep -qa 'Initramfs unpacking failed' "$OUT/console.log"; then
    log "warning: the kernel reported: $(grep -a 'Initramfs unpacking failed' "$OUT/console.log" | head -n1)"
fi
if [[ "$status" == timeout ]]; then
    log "FAILED: timeout; last console lines:"
    tail -n 20 "$OUT/console.log" >&2
    echo "$OUT"
    exit 4
fi
if [[ ! -f "$OUT/results/exit-code" ]]; then
    log "FAILED: QEMU exited with $qemu_rc and the guest returned no results"
    if [[ -s "$OUT/qemu.log" ]]; then log "qemu.log:"; tail -n 20 "$OUT/qemu.log" >&2; fi
    if [[ -n "$SOCK" ]] && grep -q "Failed to connect to '$SOCK'" "$OUT/qemu.log"; then
        log "hint: nothing accepts connections on $SOCK; start the sidecar (listening) before run-guest.sh"
    fi
    log "last console lines:"
    tail -n 20 "$OUT/console.log" >&2
    echo "$OUT"
    exit 3
fi
guest_rc="$(tr -dc '0-9' < "$OUT/results/exit-code")"
log "guest script exit code ${guest_rc:-?}; qemu exit $qemu_rc; $(tr '\n' ' ' < "$OUT/timing.txt")"
echo "$OUT"
[[ "$guest_rc" == 0 ]] || exit 1
exit 0
