#!/bin/sh
# The guest side of tests/packaging/dkms-check.sh: /init loaded the virtio_media_camera.ko that DKMS built in a
# fresh Debian 12 root. Records which module is loaded (its build ID), what the device shows, and captures 10 frames for the host
# to verify. Files in $RESULTS: module.txt, info.log, capture.log, capture.raw, exit codes in steps.txt.
set -u
R=${RESULTS:-/results}
MOD=virtio_media_camera
# The loaded module's GNU build ID: the last 20 bytes of its note (name and type fields come first).
id=$(od -An -v -tx1 "/sys/module/$MOD/notes/.note.gnu.build-id" 2>/dev/null | tr -d ' \n')
echo "build-id ${id:+${id#"${id%????????????????????????????????????????}"}}" > "$R/module.txt"
DEV=""
for n in /sys/class/video4linux/video*; do
    [ "$(basename "$(readlink "$n/device/driver")")" = "$MOD" ] && DEV=/dev/${n##*/}
done
echo "device ${DEV:-none}" >> "$R/module.txt"
[ -n "$DEV" ] || { dmesg > "$R/dmesg-no-device.txt"; exit 1; }
v4l2-ctl -d "$DEV" --all > "$R/info.log" 2>&1
echo "info $?" >> "$R/steps.txt"
v4l2-ctl -d "$DEV" --set-fmt-video=width=320,height=240,pixelformat=YUYV --stream-mmap=4 --stream-count=10 \
    --stream-to="$R/capture.raw" > "$R/capture.log" 2>&1
echo "capture $?" >> "$R/steps.txt"
exit 0
