#!/bin/sh
# The camera-permission phase, run inside the guest by the initramfs /init (busybox sh); tests/e2e/permission.sh
# is the host side. One long v4l2-ctl capture while the host allows and denies this VM's camera permission.
# The guest announces itself on the serial console with lines
#   PERM-E2E: <event> [frames=N] t=<guest CLOCK_MONOTONIC ns>
# written straight to /dev/console (and to $RESULTS/perm-markers.txt): "perm-ready" before the capture, "perm" four
# times a second while it runs (how many buffers v4l2-ctl has dequeued so far: the host toggles at frame counts),
# "perm-end" after it. The host relates the two clocks through these lines. Settings from /spectrum/files/perm.conf:
#   FRAMES=N (default 360) SIZE=WxH (320x240) FOURCC (YUYV) BUFFERS (4)
# Everything lands in $RESULTS (tests/e2e/evaluate.py judges it); the script fails only when there is no device.
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
FRAMES=360 SIZE=320x240 FOURCC=YUYV BUFFERS=4
[ -f /spectrum/files/perm.conf ] && . /spectrum/files/perm.conf
W=${SIZE%x*} H=${SIZE#*x}
MARK_TAG=PERM-E2E MARK_FILE=$R/perm-markers.txt

DEV=$(find_device) || { echo "PERM-E2E: no $MOD video device"; ls -l /dev/video* 2>&1; dmesg | tail -40; exit 1; }
echo "PERM-E2E: device $DEV, $FRAMES frames $FOURCC $SIZE with $BUFFERS buffers"
[ -r /proc/timer_list ] && echo timer_list > "$R/perm-clock-source" || echo uptime > "$R/perm-clock-source"

# What the guest sees of the device, before and after: it must not change with the permission.
v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=$FOURCC --set-parm=30 > "$R/perm-set.log" 2>&1
v4l2-ctl -d "$DEV" --get-fmt-video --get-parm --list-formats-ext > "$R/perm-device-before.txt" 2>&1

marked_capture "$R" perm "$FRAMES" "$FOURCC" "$SIZE" "$BUFFERS"

v4l2-ctl -d "$DEV" --get-fmt-video --get-parm --list-formats-ext > "$R/perm-device-after.txt" 2>&1
echo "PERM-E2E: capture exit $(cat "$R/perm-v4l2ctl.exit"), $(wc -c < "$R/perm.raw" 2>/dev/null || echo 0) bytes"
dmesg > "$R/dmesg.txt"
exit 0
