# The end-to-end phases' host-side helpers, sourced by the phase scripts in tests/e2e/ after their
# `set -euo pipefail`: paths, the builds every phase needs (QEMU, the guest driver, spectrum-camera), the guest's
# initramfs with the guest-side helpers, booting a guest, and waiting for and reaping the host processes around it.
# Each waiting helper returns non-zero or records "timeout" when its time runs out: the judge fails what depends on it.

E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E/../.." && pwd)"
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

# log MESSAGE: a progress line on stderr, tagged with the phase ($LOG_TAG, set by the script).
log() { printf '[%s] %s\n' "${LOG_TAG:-e2e}" "$*" >&2; }

# parse_options "SPEC" ARGS...: a phase's command line, where every option takes a value. SPEC names the options: the
# shared ones by name (out, kernel, accel, artifacts set OUT, KERNEL (6.1 or 6.12), ACCEL, ARTIFACTS; OUT and
# ARTIFACTS made absolute) and the phase's own as name=VARIABLE (--name VALUE sets VARIABLE). -h/--help prints the
# script's usage; anything else is a usage error.
parse_options() {
    local spec=" $1 " name var
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        -h|--help) usage; exit 0 ;;
        --*) name="${1#--}" ;;
        *) unknown_option "$1" ;;
        esac
        case "$spec" in
        *" $name "*) var="${name^^}" ;;
        *" $name="*) var="${spec#* "$name"=}"; var="${var%% *}" ;;
        *) unknown_option "$1" ;;
        esac
        [ $# -ge 2 ] || { echo "$(basename "$0"): $1 needs a value (see --help)" >&2; exit 2; }
        if [ "$name" = kernel ] && [ "$2" != 6.1 ] && [ "$2" != 6.12 ]; then usage >&2; exit 2; fi
        case "$name" in
        # Directories are made absolute: the phases change directory and kbuild's M= takes only absolute paths.
        out|artifacts) printf -v "$var" '%s' "$(realpath -m -- "$2")" ;;
        *) printf -v "$var" '%s' "$2" ;;
        esac
        shift 2
    done
}

# unknown_option ARG: the usage error for an argument no option took.
unknown_option() {
    echo "$(basename "$0"): unknown argument '$1' (see --help)" >&2
    exit 2
}

# guest_phase_options ARGS...: the options of a phase that boots guests on one kernel: --kernel 6.1|6.12 (default
# 6.1), --accel ACCEL (default tcg), --judge-only, -h/--help (calls the script's usage). Sets KERNEL, ACCEL and
# JUDGE_ONLY.
guest_phase_options() {
    KERNEL=6.1 ACCEL=tcg JUDGE_ONLY=0
    while [ $# -gt 0 ]; do
        case "$1" in
        --kernel) case "${2:-}" in 6.1|6.12) KERNEL="$2" ;; *) usage >&2; exit 2 ;; esac; shift ;;
        --accel) ACCEL="${2:?}"; shift ;;
        --judge-only) JUDGE_ONLY=1 ;;
        -h|--help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
        esac
        shift
    done
}

# start_phase TAG: the phase's log tag, an empty output directory $OUT, its start time in START, and the QEMU.
start_phase() {
    LOG_TAG="$1"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    START=$(date +%s)
    need_qemu
}

# need_qemu: the patched QEMU (built once, cached) in $QEMU, for run-guest.sh; an exported $QEMU is kept.
need_qemu() {
    [ -n "${QEMU:-}" ] || QEMU="$("$ROOT/tools/build-qemu.sh" | tail -n 1)"
    export QEMU
}

# build_dotnet ARTIFACTS PROJECT...: Release builds of the named projects (paths under the repository); ARTIFACTS is an
# MSBuild ArtifactsPath, or "" for the repository's artifacts/build.
build_dotnet() {
    local artifacts="$1" project
    shift
    for project in "$@"; do
        dotnet build "$ROOT/$project" -c Release -nologo -v quiet ${artifacts:+-p:ArtifactsPath="$artifacts"} >&2
    done
}

# build_module SERIES DIR: builds the guest driver for the kernel series in DIR/module (a copy of guest-kernel/), its
# log in DIR/module-build.log. Returns 1 when the build failed (the judge reads the log and finds no .ko).
build_module() {
    local kbuild
    kbuild="$("$ROOT/tools/fetch-guest-kernel.sh" "$1" | sed -n 's/^KBUILD=//p')"
    rm -rf "$2/module"
    cp -r "$ROOT/guest-kernel" "$2/module"
    make -C "$kbuild" M="$2/module" modules > "$2/module-build.log" 2>&1 || { log "module build failed (see $2/module-build.log)"; return 1; }
}

# initramfs SERIES OUT SCRIPT [build-initramfs.sh options...]: the guest's initramfs with SCRIPT as its guest script
# and the guest-side helpers at /spectrum/files/e2e-lib.sh; prints its path.
initramfs() {
    local series="$1" out="$2" script="$3"
    shift 3
    "$E2E/build-initramfs.sh" --kernel "$series" --out "$out" --script "$script" \
        --add "$E2E/guest/lib.sh:/spectrum/files/e2e-lib.sh" "$@" | tail -n 1
}

# boot_guest DIR [run-guest.sh options...]: boots a guest with its files in DIR/guest, QEMU's launcher log in
# DIR/run-guest.log and run-guest.sh's exit status in DIR/run-guest.exit (0: the guest script ran to the end).
boot_guest() {
    local dir="$1" rc=0
    shift
    mkdir -p "$dir/guest"
    "$E2E/run-guest.sh" --out-dir "$dir/guest" "$@" > /dev/null 2> "$dir/run-guest.log" || rc=$?
    echo "$rc" > "$dir/run-guest.exit"
    return 0
}

# wait_socket PATH [SECONDS]: until PATH is a socket (default 20 s); 1 on timeout.
wait_socket() {
    local i
    for i in $(seq $(( ${2:-20} * 10 ))); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# reap PID FILE [SECONDS]: waits up to SECONDS (default 30) for PID, a child of this shell, to exit by itself and writes
# its exit status to FILE; "timeout" (and a SIGKILL) if it did not.
reap() {
    local pid="$1" file="$2" i rc=0
    for i in $(seq $(( ${3:-30} * 5 ))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$pid" || true
        echo timeout > "$file"
    else
        wait "$pid" || rc=$?
        echo "$rc" > "$file"
    fi
}

# socket_left PATH FILE: whether a process left its listening socket behind ("present" or "absent" in FILE).
socket_left() {
    if [ -e "$1" ]; then echo present > "$2"; else echo absent > "$2"; fi
}

# camera_vm_host DLL CAMVM CONSUMER PRODUCER_SOCKET CONSUMER_SOCKET: the host side of a camera VM and a consumer VM,
# in $OUT: the camera service (its camera "cam" is the camera VM CAMVM; both VMs as this uid; runtime and state in
# $OUT/run and $OUT/state), CAMVM's producer sidecar (serve --role producer) listening on PRODUCER_SOCKET and
# CONSUMER's sidecar on CONSUMER_SOCKET. SERVICE, PRODUCER and CONSUMER_SIDECAR get their pids (set a trap that kills
# them first); their logs are $OUT/{camera-service,producer-sidecar,consumer-sidecar}.log. Returns 1, with
# $OUT/setup-failed saying why, when a socket did not appear.
camera_vm_host() {
    local dll="$1" camvm="$2" consumer="$3" uid
    uid="$(id -u)"
    log "starting the camera service (camera cam = camera VM $camvm; VMs $camvm, $consumer as uid $uid)"
    dotnet "$dll" camera-service --camera "cam=vm:$camvm" --vm "$camvm:$uid" --vm "$consumer:$uid" \
        --runtime-dir "$OUT/run" --state-dir "$OUT/state" > "$OUT/camera-service.log" 2>&1 &
    SERVICE=$!
    if ! wait_socket "$OUT/run/producers/$camvm.sock" || ! wait_socket "$OUT/run/vms/$consumer.sock"; then
        log "the camera service did not create its sockets (see camera-service.log)"
        echo "no service sockets" > "$OUT/setup-failed"
        return 1
    fi
    log "starting the camera VM's producer sidecar and the consumer's sidecar"
    dotnet "$dll" serve --role producer --socket-path "$4" --vm "$camvm" \
        --camera-service "$OUT/run/producers/$camvm.sock" > "$OUT/producer-sidecar.log" 2>&1 &
    PRODUCER=$!
    dotnet "$dll" serve --socket-path "$5" --vm "$consumer" \
        --camera-service "$OUT/run/vms/$consumer.sock" > "$OUT/consumer-sidecar.log" 2>&1 &
    CONSUMER_SIDECAR=$!
    if ! wait_socket "$4" || ! wait_socket "$5"; then
        log "a sidecar did not listen (see producer-sidecar.log, consumer-sidecar.log)"
        echo "no sidecar socket" > "$OUT/setup-failed"
        return 1
    fi
}
