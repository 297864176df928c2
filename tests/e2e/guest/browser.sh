#!/bin/sh
# The browser phase, first part: run inside the guest by the initramfs /init (busybox sh) with the project's driver
# loaded. It mounts the browser root filesystem (a Debian 12 ext4 disk, serial "spectrum-rootfs", built by
# tests/e2e/build-browser-rootfs.sh and attached by tests/e2e/browser.sh with snapshot=on, so the guest may write to
# it and the cached image stays as built) and runs tests/e2e/guest/browser/browser-session.sh with it as root, so the
# browsers, PipeWire and WirePlumber run from Debian's own packages. /results is bound into the root, so everything
# the session writes comes back to the host through the initramfs' results disk.
# Files from the host (tests/e2e/browser.sh): /spectrum/files/kmods/ (the ext4 modules of this kernel and their
# load order, kmods/order), /spectrum/files/browser/ (the session script, the page, its server), browser.conf.
set -u
R=${RESULTS:-/results}
F=/spectrum/files
NEW=/newroot
say() { echo "BROWSER-E2E: $*"; }

disk_by_serial() {
    for b in /sys/block/vd*; do
        [ -e "$b/serial" ] && [ "$(cat "$b/serial")" = "$1" ] && echo "/dev/${b##*/}"
    done
}

# ext4 is a module in Debian's kernels: load it and its dependencies (the list is in load order).
while read -r ko; do
    [ -n "$ko" ] || continue
    insmod "$F/kmods/$ko" 2> /dev/null || grep -q "^$(basename "$ko" .ko | tr - _) " /proc/modules \
        || say "note: insmod $ko failed"
done < "$F/kmods/order"

DISK=$(disk_by_serial spectrum-rootfs)
[ -n "$DISK" ] || { say "no root filesystem disk (serial spectrum-rootfs)"; exit 1; }
mkdir -p $NEW
mount -t ext4 "$DISK" $NEW || { say "mounting $DISK failed"; dmesg | tail -20; exit 1; }
say "root filesystem $DISK: $(cat $NEW/etc/spectrum-browser-rootfs 2>/dev/null)"

# The loopback interface carries the page's HTTP server.
ip link set lo up 2> /dev/null || ifconfig lo 127.0.0.1 up

mount -t proc proc $NEW/proc
mount -t sysfs sysfs $NEW/sys
mount -o bind /dev $NEW/dev
mount -t devpts devpts $NEW/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $NEW/dev/shm
mount -t tmpfs -o mode=1777 tmpfs $NEW/tmp
mount -t tmpfs -o mode=755 tmpfs $NEW/run
mkdir -p $NEW/results $NEW/spectrum
mount -o bind "$R" $NEW/results
cp -r "$F/browser" $NEW/spectrum/browser
cp "$F/browser.conf" $NEW/spectrum/browser.conf

# The session's root is the Debian root itself, not a chroot inside the initramfs: in a mount namespace of its own,
# the root filesystem is moved over / (as switch_root does) before chroot. The kernel refuses unprivileged user
# namespaces to a chrooted process, which would take the browsers' sandboxes away; with the move the process root is
# the namespace's top mount, so nothing counts as chrooted.
unshare -m sh -c "cd $NEW && mount --move . / && exec chroot . /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 RESULTS=/results /bin/sh /spectrum/browser/browser-session.sh"
rc=$?
say "session exit code $rc"

# Unmount in reverse so the results bind is released before /init tars /results.
for m in results run tmp dev/shm dev/pts dev sys proc; do umount $NEW/$m 2> /dev/null || umount -l $NEW/$m; done
umount $NEW 2> /dev/null || true
dmesg > "$R/dmesg.txt"
exit $rc
