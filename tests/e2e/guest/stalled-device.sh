#!/bin/sh
# The stalled-device test, sourced by tests/e2e/guest/hostile.sh before its faults (it uses that script's R, MOD, KO,
# say, find_device and uptime_cs). The hostile device's fault no-answer holds the first G_FMT, QBUF, STREAMOFF and
# CLOSE after it is selected until the driver resets the device; selecting it again starts over. Steps:
#   1. a v4l2-ctl whose G_FMT the device holds, and a second one whose open() queues behind it; both get SIGKILL
#      (the queued one first) and must be gone at once (the driver's waits are killable);
#   2. a G_FMT the device never answers fails with ETIMEDOUT after the 5 s timeout: the driver marks the device
#      broken;
#   3. later opens fail at once with EIO (not 5 s each);
#   4. after a driver reload the device works again (v4l2-ctl --all, a 10-frame capture verified on the host).
# Everything lands in $R/stalled-device/ for tests/e2e/judge-stalled-device.py: steps.txt ("key value..." lines),
# each client's log, dmesg.txt, capture.raw.

SD=$R/stalled-device
mkdir -p "$SD"
: > "$SD/steps.txt"
step() { echo "$*" >> "$SD/steps.txt"; say "stalled-device: $*"; }
pstate() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }

# wait_blocked PID SECONDS: waits until PID sleeps in the kernel (state S or D) with a wchan outside the shell's
# own startup; prints "state wchan" of the last look.
wait_blocked() {
    n=0
    while [ $n -lt $(($2 * 10)) ]; do
        st=$(pstate "$1")
        wc=$(cat "/proc/$1/wchan" 2>/dev/null)
        case "$st:$wc" in
        D:*|S:*mutex*|S:*completion*) break ;;
        esac
        sleep 0.1
        n=$((n + 1))
    done
    echo "${st:-gone} ${wc:-none}"
}

# gone_after_kill PID: centiseconds from SIGKILL until PID has exited (zombie or reaped), at most 10 s.
gone_after_kill() {
    t0=$(uptime_cs)
    kill -KILL "$1" 2>/dev/null
    n=0
    while [ $n -lt 500 ]; do
        st=$(pstate "$1")
        [ -z "$st" ] || [ "$st" = Z ] && break
        sleep 0.02
        n=$((n + 1))
    done
    t1=$(uptime_cs)
    echo $((t1 - t0))
}

# timed NAME CMD...: runs CMD in the foreground (SIGTERM after 30 s); records "NAME rc=N cs=N".
timed() {
    name=$1
    shift
    t0=$(uptime_cs)
    timeout 30 "$@" < /dev/null > "$SD/$name.log" 2>&1
    rc=$?
    t1=$(uptime_cs)
    step "$name rc=$rc cs=$((t1 - t0))"
}

dmesg -c > "$SD/dmesg-before.txt" 2>&1
DEV=$(find_device)
if [ -z "$DEV" ]; then
    rmmod $MOD 2>/dev/null
    insmod "$KO"
    sleep 1
    DEV=$(find_device)
fi
MAGIC=$(awk '$2 == "no-answer" { print $3 }' /spectrum/files/faults-all.txt 2>/dev/null)
if [ -z "$DEV" ] || [ -z "$MAGIC" ]; then
    step "setup failed device=${DEV:-none} magic=${MAGIC:-none}"
else
    # 1. Killable waits.
    v4l2-ctl -d "$DEV" --set-input="$MAGIC" > "$SD/select1.log" 2>&1
    grep -q "Video input set to" "$SD/select1.log" && step "select1 ok" || step "select1 failed"
    v4l2-ctl -d "$DEV" --get-fmt-video < /dev/null > "$SD/waiter.log" 2>&1 &
    waiter=$!
    step "waiter blocked $(wait_blocked $waiter 10)"
    sleep 1
    step "waiter after-1s $(pstate $waiter) $(cat /proc/$waiter/wchan 2>/dev/null)"
    cat "/proc/$waiter/stack" > "$SD/waiter-stack.txt" 2>/dev/null
    v4l2-ctl -d "$DEV" --get-input < /dev/null > "$SD/queued.log" 2>&1 &
    queued=$!
    step "queued blocked $(wait_blocked $queued 10)"
    cat "/proc/$queued/stack" > "$SD/queued-stack.txt" 2>/dev/null
    # The queued one first: once the waiter is gone, its open() would go ahead and succeed.
    step "queued killed cs=$(gone_after_kill $queued)"
    step "waiter killed cs=$(gone_after_kill $waiter)"
    wait $waiter
    step "waiter exit rc=$?"
    wait $queued
    step "queued exit rc=$?"

    # 2. A command that times out marks the device broken.
    v4l2-ctl -d "$DEV" --set-input="$MAGIC" > "$SD/select2.log" 2>&1
    grep -q "Video input set to" "$SD/select2.log" && step "select2 ok" || step "select2 failed"
    timed timeout v4l2-ctl -d "$DEV" --get-fmt-video

    # 3. Later commands fail at once.
    for i in 1 2 3 4 5; do timed "after-$i" v4l2-ctl -d "$DEV" --all; done
    sleep 0.5
    dstate=""
    for s in /proc/[0-9]*/stat; do
        dstate="$dstate$(awk '$3 == "D" && $2 ~ /v4l2/ { printf "%s ", $2 }' "$s" 2>/dev/null)"
    done
    step "dstate ${dstate:-none}"

    # 4. A driver reload resets the device.
    rmmod $MOD > "$SD/rmmod.log" 2>&1
    step "rmmod rc=$?"
    insmod "$KO" > "$SD/insmod.log" 2>&1
    step "insmod rc=$?"
    sleep 1
    DEV=$(find_device)
    step "device-after-reload ${DEV:-none}"
    if [ -n "$DEV" ]; then
        timed reload-all v4l2-ctl -d "$DEV" --all
        timed reload-capture v4l2-ctl -d "$DEV" --set-fmt-video=width=320,height=240,pixelformat=YUYV \
            --stream-mmap=4 --stream-count=10 --stream-to="$SD/capture.raw"
    fi
fi
dmesg -c > "$SD/dmesg.txt" 2>&1
