# The end-to-end guest scripts' helpers (busybox sh), sourced as ". $SPECTRUM_FILES/e2e-lib.sh"; tests/e2e/lib.sh
# puts this file into every initramfs it builds. The scripts record, the host judges: a helper whose time runs out
# returns non-zero and, where the script set TIMEOUT_LOG, appends "LABEL: what timed out" there for the judge, which
# fails every check that depends on LABEL.
R=${RESULTS:-/results}
MOD=virtio_media_camera
KO=${SPECTRUM_MODULE_DIR:-/spectrum/modules}/$MOD.ko

# timed_out LABEL TEXT: records a timeout for the judge (and on the console).
timed_out() {
    echo "timeout: $1: $2"
    [ -n "${TIMEOUT_LOG:-}" ] && echo "$1: $2" >> "$TIMEOUT_LOG"
    return 1
}

# find_device: the node whose device is bound to our driver (sysfs; no tool needed).
find_device() {
    for n in /sys/class/video4linux/video*; do
        [ -e "$n/device/driver" ] || continue
        drv=$(readlink "$n/device/driver")
        if [ "${drv##*/}" = "$MOD" ]; then echo "/dev/${n##*/}"; return 0; fi
    done
    return 1
}

# wait_device: find_device, for up to 10 s (the node appears when the driver's probe has run after an insmod).
wait_device() {
    i=0
    while [ $i -lt 100 ]; do
        find_device && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# wait_for FILE PATTERN SECONDS LABEL: until FILE contains PATTERN (grep -E); a timeout is recorded under LABEL.
wait_for() {
    i=0
    while [ "$i" -lt $(($3 * 10)) ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    timed_out "$4" "no '$2' in ${1##*/} within $3 s"
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# now_ns: CLOCK_MONOTONIC in ns (the clock of the buffers' timestamps): /proc/timer_list's "now at N nsecs" is
# ktime_get(); /proc/uptime (10 ms steps) if the kernel has no timer_list.
now_ns() {
    t=$(sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list 2>/dev/null)
    [ -n "$t" ] || t=$(awk '{ printf "%d", $1 * 1000000000 }' /proc/uptime)
    echo "$t"
}

# console_mark EVENT [key=N ...]: "$MARK_TAG: EVENT key=N t=<now_ns>" straight to the serial console, which the host
# follows (tests/e2e/guest_console.py), and to $MARK_FILE.
console_mark() {
    line="$MARK_TAG: $* t=$(now_ns)"
    echo "$line" > /dev/console
    echo "$line" >> "$MARK_FILE"
}

# marked_capture DIR PHASE FRAMES FOURCC WxH BUFFERS: one v4l2-ctl MMAP capture of FRAMES frames to DIR/PHASE.raw;
# v4l2-ctl --verbose prints one "cap dqbuf: I seq: S bytesused: B ts: SEC.USEC ..." line per buffer, kept in
# DIR/PHASE-dqbuf.log, and its exit status goes to DIR/PHASE-v4l2ctl.exit. Markers: PHASE-ready before it, "PHASE
# frames=N" (buffers dequeued so far) four times a second while it runs, "PHASE-end frames=N rc=N" after it.
# v4l2-ctl's pid is in DIR/PHASE-v4l2ctl.pid while it runs, for a script that ends the capture itself.
marked_capture() {
    dir=$1 phase=$2 n=$3 fourcc=$4 size=$5 buffers=$6
    : > "$dir/$phase-dqbuf.log"
    console_mark "$phase-ready"
    v4l2-ctl -d "$DEV" --set-fmt-video=width=${size%x*},height=${size#*x},pixelformat=$fourcc --stream-mmap=$buffers \
        --stream-count=$n --stream-to="$dir/$phase.raw" --verbose > "$dir/$phase-v4l2ctl.log" 2> "$dir/$phase-dqbuf.log" &
    cap=$!
    echo "$cap" > "$dir/$phase-v4l2ctl.pid"
    while kill -0 $cap 2>/dev/null; do
        console_mark "$phase" frames=$(grep -c 'dqbuf:' "$dir/$phase-dqbuf.log")
        sleep 0.25
    done
    wait $cap
    rc=$?
    echo "$rc" > "$dir/$phase-v4l2ctl.exit"
    console_mark "$phase-end" frames=$(grep -c 'dqbuf:' "$dir/$phase-dqbuf.log") rc=$rc
}

# The results disk: the virtio-blk device with serial "spectrum-results"; /init writes `tar cf` of /results to it at
# the end. Results survive a reboot through it.
results_disk() {
    for b in /sys/block/vd*; do
        [ -e "$b/serial" ] && [ "$(cat "$b/serial")" = "spectrum-results" ] && echo "/dev/${b##*/}"
    done
}

# restore_results DISK: what earlier boots saved (nothing on the first boot).
restore_results() {
    [ -n "$1" ] && (cd / && tar xf "$1" 2>/dev/null)
    return 0
}

# reboot_keeping_results DISK: saves /results to the disk and reboots at once (the next boot restores them).
reboot_keeping_results() {
    (cd / && tar cf "$1" results && sync)
    reboot -f
    sleep 60
}

# host_channel DEV: opens the serial port DEV for reading as fd 4. The host writes commands to it, one a line (QEMU
# -serial chardev:ID with a socket chardev the host connects to; DEV is /dev/ttyS1 for the second -serial). Echo off,
# so nothing flows back.
host_channel() {
    stty -F "$1" -echo 2>/dev/null
    exec 4< "$1"
}

# host_command SECONDS: the next command from the host channel: its first word in CMD, the rest in ARGS; 1 when none
# came within SECONDS.
host_command() {
    line=
    read -r -t "$1" line <&4 || [ -n "$line" ] || return 1
    line=$(printf '%s' "$line" | tr -d '\r')
    CMD=${line%% *}
    ARGS=
    [ "$CMD" = "$line" ] || ARGS=${line#* }
}

# wait_host_command START MAX: the next command from the host channel (host_command), waited for as long as it takes
# until MAX seconds after START (an uptime_s); 1 then, said on the console and in $R/host-timeouts.txt, so that a
# script the host forgot still returns its results.
wait_host_command() {
    while ! host_command 5; do
        if [ "$(awk -v now="$(uptime_s)" -v start="$1" -v max="$2" 'BEGIN { print (now - start > max) }')" = 1 ]; then
            echo "$MARK_TAG: no 'end' from the host within $2 s; giving up" | tee -a "$R/host-timeouts.txt"
            return 1
        fi
    done
    echo "$MARK_TAG: host says: $CMD $ARGS"
}
