#!/bin/sh
# The camera-permission phase, run inside the guest by the initramfs /init (busybox sh); tests/e2e/permission.sh
# is the host side. One long v4l2-ctl capture while the host allows and denies this VM's camera permission.
# The guest announces itself on the serial console with lines
#   PERM-E2E: <event> [frames=N] t=<guest CLOCK_MONOTONIC ns>
# written straight to /dev/console (and to $RESULTS/perm-markers.txt): "ready" before the capture, "frames" four
# times a second while it runs (how many buffers v4l2-ctl has dequeued so far: the host toggles at frame counts),
# "end" after it. The host relates the two clocks through these lines. Settings from /spectrum/files/perm.conf:
#   FRAMES=N (default 360) SIZE=WxH (320x240) FOURCC (YUYV) BUFFERS (4)
# Everything lands in $RESULTS (tests/e2e/evaluate.py judges it); the script fails only when there is no device.
set -u
R=${RESULTS:-/results}
FRAMES=360 SIZE=320x240 FOURCC=YUYV BUFFERS=4
[ -f /spectrum/files/perm.conf ] && . /spectrum/files/perm.conf
MOD=virtio_media_camera
W=${SIZE%x*} H=${SIZE#*x}

# CLOCK_MONOTONIC in ns (the clock of the buffers' timestamps): /proc/timer_list's "now at N nsecs" is
# ktime_get(); /proc/uptime (10 ms steps) if the kernel has no timer_list.
now_ns() {
    t=$(sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list 2>/dev/null)
    [ -n "$t" ] || t=$(awk '{ printf "%d", $1 * 1000000000 }' /proc/uptime)
    echo "$t"
}

mark() {
    line="PERM-E2E: $* t=$(now_ns)"
    echo "$line" > /dev/console
    echo "$line" >> "$R/perm-markers.txt"
}

find_device() {
    for n in /sys/class/video4linux/video*; do
        [ -e "$n/device/driver" ] || continue
        drv=$(readlink "$n/device/driver")
        if [ "${drv##*/}" = "$MOD" ]; then echo "/dev/${n##*/}"; return 0; fi
    done
    return 1
}

DEV=$(find_device) || { echo "PERM-E2E: no $MOD video device"; ls -l /dev/video* 2>&1; dmesg | tail -40; exit 1; }
echo "PERM-E2E: device $DEV, $FRAMES frames $FOURCC $SIZE with $BUFFERS buffers"
[ -r /proc/timer_list ] && echo timer_list > "$R/perm-clock-source" || echo uptime > "$R/perm-clock-source"

# What the guest sees of the device, before and after: it must not change with the permission.
v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=$FOURCC --set-parm=30 > "$R/perm-set.log" 2>&1
v4l2-ctl -d "$DEV" --get-fmt-video --get-parm --list-formats-ext > "$R/perm-device-before.txt" 2>&1

: > "$R/perm-dqbuf.log"
mark ready
# v4l2-ctl --verbose prints one "cap dqbuf: I seq: S bytesused: B ts: SEC.USEC ..." line per buffer on stderr.
v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=$FOURCC --stream-mmap=$BUFFERS \
    --stream-count=$FRAMES --stream-to="$R/perm.raw" --verbose > "$R/perm-v4l2ctl.log" 2> "$R/perm-dqbuf.log" &
CAP=$!
while kill -0 $CAP 2>/dev/null; do
    mark frames frames=$(grep -c 'dqbuf:' "$R/perm-dqbuf.log")
    sleep 0.25
done
wait $CAP
rc=$?
echo "$rc" > "$R/perm-v4l2ctl.exit"
mark end frames=$(grep -c 'dqbuf:' "$R/perm-dqbuf.log") rc=$rc

v4l2-ctl -d "$DEV" --get-fmt-video --get-parm --list-formats-ext > "$R/perm-device-after.txt" 2>&1
echo "PERM-E2E: capture exit $rc, $(wc -c < "$R/perm.raw" 2>/dev/null || echo 0) bytes"
dmesg > "$R/dmesg.txt"
exit 0
