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
. "$SPECTRUM_FILES/e2e-lib.sh"
REBOOTS=20 RELOADS=100 SVC_FRAMES=240 STOP_FRAMES=150 SMALL_FRAMES=15 SIZE=320x240
[ -f /spectrum/files/faults.conf ] && . /spectrum/files/faults.conf
F=$R/faults
MARK_TAG=FAULTS-E2E MARK_FILE=$F/markers.txt

# small NAME: a short capture, verified on the host ("NAME frames rc" in small.txt).
small() {
    rm -f "$F/small-$1.raw"
    timeout 60 v4l2-ctl -d "$DEV" --set-fmt-video=width=${SIZE%x*},height=${SIZE#*x},pixelformat=YUYV --stream-mmap=4 \
        --stream-count=$SMALL_FRAMES --stream-to="$F/small-$1.raw" > "$F/small-$1.log" 2>&1
    rc=$?
    echo "$1 $SMALL_FRAMES $rc" >> "$F/small.txt"
    echo "FAULTS-E2E: capture $1: exit $rc"
}

DISK=$(results_disk)
restore_results "$DISK"
mkdir -p "$F"
BOOT=$(( $(cat "$F/boot-count" 2>/dev/null || echo 0) + 1 ))
echo "$BOOT" > "$F/boot-count"
echo "$(awk '{ print $1 }' /proc/uptime)" > "$F/uptime-at-script-boot$BOOT"
console_mark boot n=$BOOT
DEV=$(wait_device) || { echo "FAULTS-E2E: no $MOD video device at boot $BOOT"; dmesg | tail -40; }
[ -n "${DEV:-}" ] && small "boot$BOOT"

if [ "$BOOT" -le "$REBOOTS" ] && [ -n "$DISK" ]; then
    dmesg > "$F/dmesg-boot$BOOT.txt"
    console_mark reboot n=$BOOT
    reboot_keeping_results "$DISK"
fi

# The last boot: camera service killed mid-stream, VM stop/cont, module reloads.
marked_capture "$F" svc "$SVC_FRAMES" YUYV "$SIZE" 4
marked_capture "$F" stopcont "$STOP_FRAMES" YUYV "$SIZE" 4

console_mark reloads-start
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
console_mark reloads-end
rmmod $MOD && echo 0 > "$F/final-rmmod" || echo 1 > "$F/final-rmmod"
dmesg > "$F/dmesg-boot$BOOT.txt"
console_mark end
exit 0
