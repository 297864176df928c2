#!/bin/sh
# The fault-injection phase, run inside the guest by the initramfs /init (busybox sh) at every boot; tests/e2e/faults.sh
# is the host side (the real sidecar fed by the real camera service, one QEMU and one vhost-user connection for all).
# Boots 1..REBOOTS stream a few frames and reboot (results survive on the results disk, as in suite.sh). The last
# boot streams a few frames, then:
#   svc       a long capture while the host kill -9s the camera service and restarts it (frames go black and come
#             back; the stream must not stop);
#   stopcont  a capture while the host stops and continues the VM through QMP;
#   reloads   RELOADS module unload/reload cycles, a short capture after every 10th;
# and exits (the VMM then exits: the host checks the sidecar's exit and what it leaves behind).
# The host follows the serial console for lines "FAULTS-E2E: <event> [k=N ...] t=<guest CLOCK_MONOTONIC ns>".
# Settings from /spectrum/files/faults.conf: REBOOTS RELOADS SVC_FRAMES STOP_FRAMES SMALL_FRAMES.
set -u
R=${RESULTS:-/results}
MOD=virtio_media_camera
KO=$SPECTRUM_MODULE_DIR/$MOD.ko
REBOOTS=20 RELOADS=100 SVC_FRAMES=240 STOP_FRAMES=150 SMALL_FRAMES=15 W=320 H=240
[ -f /spectrum/files/faults.conf ] && . /spectrum/files/faults.conf
F=$R/faults

now_ns() {
    t=$(sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list 2>/dev/null)
    [ -n "$t" ] || t=$(awk '{ printf "%d", $1 * 1000000000 }' /proc/uptime)
    echo "$t"
}

mark() {
    line="FAULTS-E2E: $* t=$(now_ns)"
    echo "$line" > /dev/console
    echo "$line" >> "$F/markers.txt"
}

results_disk() {
    for b in /sys/block/vd*; do
        [ -e "$b/serial" ] && [ "$(cat "$b/serial")" = "spectrum-results" ] && echo "/dev/${b##*/}"
    done
}

find_device() {
    for n in /sys/class/video4linux/video*; do
        [ -e "$n/device/driver" ] || continue
        drv=$(readlink "$n/device/driver")
        if [ "${drv##*/}" = "$MOD" ]; then echo "/dev/${n##*/}"; return 0; fi
    done
    return 1
}

# The node can take a moment after insmod (probe runs asynchronously to nothing here, but udev-less devtmpfs may lag).
wait_device() {
    i=0
    while [ $i -lt 100 ]; do
        find_device && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# small NAME: a short capture, verified on the host ("NAME frames rc" in small.txt).
small() {
    rm -f "$F/small-$1.raw"
    timeout 60 v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=YUYV --stream-mmap=4 \
        --stream-count=$SMALL_FRAMES --stream-to="$F/small-$1.raw" > "$F/small-$1.log" 2>&1
    rc=$?
    echo "$1 $SMALL_FRAMES $rc" >> "$F/small.txt"
    echo "FAULTS-E2E: capture $1: exit $rc"
}

# long PHASE FRAMES: one v4l2-ctl capture with markers four times a second ("PHASE frames=N").
long() {
    phase=$1 n=$2
    : > "$F/$phase-dqbuf.log"
    mark "$phase-ready"
    v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=YUYV --stream-mmap=4 --stream-count=$n \
        --stream-to="$F/$phase.raw" --verbose > "$F/$phase-v4l2ctl.log" 2> "$F/$phase-dqbuf.log" &
    cap=$!
    while kill -0 $cap 2>/dev/null; do
        mark "$phase" frames=$(grep -c 'dqbuf:' "$F/$phase-dqbuf.log")
        sleep 0.25
    done
    wait $cap
    rc=$?
    echo "$rc" > "$F/$phase-v4l2ctl.exit"
    mark "$phase-end" frames=$(grep -c 'dqbuf:' "$F/$phase-dqbuf.log") rc=$rc
}

DISK=$(results_disk)
if [ -n "$DISK" ]; then
    (cd / && tar xf "$DISK" 2>/dev/null) || true
fi
mkdir -p "$F"
BOOT=$(( $(cat "$F/boot-count" 2>/dev/null || echo 0) + 1 ))
echo "$BOOT" > "$F/boot-count"
echo "$(awk '{ print $1 }' /proc/uptime)" > "$F/uptime-at-script-boot$BOOT"
mark boot n=$BOOT
DEV=$(wait_device) || { echo "FAULTS-E2E: no $MOD video device at boot $BOOT"; dmesg | tail -40; }
[ -n "${DEV:-}" ] && small "boot$BOOT"

if [ "$BOOT" -le "$REBOOTS" ] && [ -n "$DISK" ]; then
    dmesg > "$F/dmesg-boot$BOOT.txt"
    (cd / && tar cf "$DISK" results && sync)
    mark reboot n=$BOOT
    reboot -f
    sleep 60
fi

# The last boot: camera service killed mid-stream, VM stop/cont, module reloads.
long svc "$SVC_FRAMES"
long stopcont "$STOP_FRAMES"

mark reloads-start
: > "$F/reloads.txt"
i=1
while [ $i -le "$RELOADS" ]; do
    rmmod $MOD; a=$?
    insmod "$KO"; b=$?
    DEV=$(wait_device); c=$?
    echo "$i $a $b $c" >> "$F/reloads.txt"
    if [ $((i % 10)) -eq 0 ] && [ $c -eq 0 ]; then small "reload$i"; fi
    i=$((i + 1))
done
mark reloads-end
rmmod $MOD && echo 0 > "$F/final-rmmod" || echo 1 > "$F/final-rmmod"
dmesg > "$F/dmesg-boot$BOOT.txt"
mark end
exit 0
