#!/bin/sh
# The demo's guest side (tools/demo.sh is the host side): show what an application sees of the camera, then capture
# one uninterrupted stream while the host allows, denies and allows this VM's camera. The capture and its console
# markers are the permission phase's own guest script (tests/e2e/guest/permission.sh, added to the initramfs as
# /spectrum/files/permission.sh), so the demo and the end-to-end test capture the same way.
set -u
for n in /sys/class/video4linux/video*; do
    [ "$(basename "$(readlink "$n/device/driver")")" = virtio_media_camera ] && DEV=/dev/${n##*/}
done
[ -n "${DEV:-}" ] || { echo "DEMO: no Spectrum Camera device found"; exit 1; }
echo "DEMO: the guest sees $DEV:"
v4l2-ctl -d "$DEV" --info | grep -E 'Driver name|Card type|Bus info' | sed 's/^[[:space:]]*/DEMO:   /'
v4l2-ctl -d "$DEV" --list-formats | grep -E "^[[:space:]]*\[[0-9]+\]:" | sed 's/^[[:space:]]*/DEMO:   format /'
. /spectrum/files/perm.conf
echo "DEMO: capturing $FRAMES frames of $SIZE $FOURCC with v4l2-ctl; the host switches the permission meanwhile"
sh /spectrum/files/permission.sh
rc=$(cat "${RESULTS:-/results}/perm-v4l2ctl.exit" 2>/dev/null || echo missing)
echo "DEMO: v4l2-ctl exit $rc"
[ "$rc" = 0 ]
