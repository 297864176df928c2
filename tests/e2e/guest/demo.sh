#!/bin/sh
# The demo's guest side: find the camera, show what an application sees, capture one frame.
set -u
R=${RESULTS:-/results}
for n in /sys/class/video4linux/video*; do
    [ "$(basename "$(readlink "$n/device/driver")")" = virtio_media_camera ] && DEV=/dev/${n##*/}
done
[ -n "${DEV:-}" ] || { echo "DEMO: no Spectrum Camera device found"; exit 1; }
echo "DEMO: the guest sees $DEV:"
v4l2-ctl -d "$DEV" --info | sed 's/^/DEMO:   /'
v4l2-ctl -d "$DEV" --list-formats-ext | sed 's/^/DEMO:   /'
echo "DEMO: capturing 1280x720 YUYV with v4l2-ctl (keeping the 30th frame)"
v4l2-ctl -d "$DEV" --set-fmt-video=width=1280,height=720,pixelformat=YUYV --stream-mmap=4 \
    --stream-skip=29 --stream-count=1 --stream-to="$R/frame.yuyv" || exit 1
echo "DEMO: captured $(wc -c < "$R/frame.yuyv") bytes"
