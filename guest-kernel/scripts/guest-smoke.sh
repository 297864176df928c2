#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots a Debian guest kernel under QEMU (TCG) from a throw-away initramfs and
# runs one scenario against virtio_media_camera. Not part of CI; a developer
# tool for the guest driver.
#
# Usage: guest-smoke.sh KVER SCENARIO [SIDECAR]
#   KVER      e.g. 6.1.0-56-amd64 or 6.12.95+deb12-amd64; the kernel must be
#             unpacked by tools/fetch-guest-kernel.sh and its headers installed
#   SCENARIO  noload   : no device; insmod/rmmod ten times
#             stream   : with the sidecar; v4l2-ctl MMAP/USERPTR streams,
#                        v4l2-compliance -s, unbind while streaming, reloads
#             kill     : with the sidecar, killed mid-stream: the first
#                        command times out and marks the device broken,
#                        the next open fails at once with EIO; then unbind
#                        and rmmod
#             dmabuf   : with the sidecar and vivid as the exporter:
#                        v4l2-compliance -s -e (DMABUF import)
#             stress   : with the sidecar: restarting MMAP/USERPTR streams
#                        while other processes open, query and TRY_FMT;
#                        then unbind under that load
#             (malformed answers and events: tests/e2e/hostile.sh)
#   SIDECAR   path of a built spectrum-camera binary (stream, kill)
#
# Environment: SPECTRUM_CACHE (default ~/.cache/spectrum-camera), QEMU (default:
# the newest patched build in the cache), KO (a module built elsewhere, e.g. in
# a chroot with a newer compiler, instead of building one against
# /usr/src/linux-headers-KVER). Needs busybox-static and v4l-utils.
# Prints "RESULT: PASS" or "RESULT: FAIL" last; exits 0 on PASS.
set -euo pipefail

KVER=${1:?KVER}
SCENARIO=${2:?SCENARIO}
SIDECAR=${3:-}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}
KROOT=$CACHE/kernels/$KVER
MODROOT=$KROOT/lib/modules/$KVER
QEMU=${QEMU:-$(ls -d "$CACHE"/qemu/*/qemu-system-x86_64 2>/dev/null | tail -n1)}
[[ -x "$QEMU" ]] || { echo "no QEMU build in $CACHE/qemu" >&2; exit 2; }
[[ -d "$MODROOT" ]] || { echo "no unpacked kernel $KVER in $CACHE" >&2; exit 2; }
case $SCENARIO in
noload) ;;
stream|kill|dmabuf|stress) [[ -x "$SIDECAR" ]] || { echo "$SCENARIO needs SIDECAR" >&2; exit 2; } ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac

WORK=$(mktemp -d)
SPID=""
QPID=""
cleanup() {
	[[ -n "$QPID" ]] && kill "$QPID" 2>/dev/null || true
	[[ -n "$SPID" ]] && kill "$SPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the module, built for KVER in a scratch copy --------------------------
mkdir -p "$WORK/build" "$WORK/root"/{bin,proc,sys,dev,mods,tmp}
if [[ -n "${KO:-}" ]]; then
	cp "$KO" "$WORK/root/mods/virtio_media_camera.ko"
else
	cp "$HERE"/*.c "$HERE"/*.h "$HERE"/Kbuild "$WORK/build/"
	make -s -C "/usr/src/linux-headers-$KVER" M="$WORK/build" modules >/dev/null 2>&1
	cp "$WORK/build/virtio_media_camera.ko" "$WORK/root/mods/"
fi

# ---- dependencies, deepest first --------------------------------------------
declare -A seen=()
order=()
findmod() { find "$MODROOT/kernel" \( -name "$1.ko" -o -name "$1.ko.xz" \) | head -n1; }
visit() {
	local name=$1 f d
	[[ -n "${seen[$name]:-}" ]] && return 0
	seen[$name]=1
	if [[ $name == virtio_media_camera ]]; then
		f=$WORK/root/mods/virtio_media_camera.ko
	else
		f=$(findmod "$name")
	fi
	[[ -n "$f" ]] || return 0	# built in
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do visit "$d"; done
	if [[ $name != virtio_media_camera ]]; then
		if [[ $f == *.xz ]]; then xz -dc "$f" >"$WORK/root/mods/$name.ko"; else cp "$f" "$WORK/root/mods/$name.ko"; fi
		order+=("$name")
	fi
}
for m in virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_media_camera; do visit "$m"; done
if [[ $SCENARIO == dmabuf ]]; then visit vivid; fi
printf '%s\n' "${order[@]}" >"$WORK/root/mods/order"

# ---- tools -------------------------------------------------------------------
cp /bin/busybox "$WORK/root/bin/"
for a in sh mount insmod rmmod lsmod dmesg grep cat echo poweroff sleep ls seq kill wc tail head; do
	ln -s busybox "$WORK/root/bin/$a"
done
if [[ $SCENARIO != noload ]]; then
	for t in /usr/bin/v4l2-ctl /usr/bin/v4l2-compliance; do
		cp "$t" "$WORK/root/bin/"
		for l in $(ldd "$t" | grep -o '/[^ ]*'); do
			mkdir -p "$WORK/root$(dirname "$l")"
			cp -L "$l" "$WORK/root$l"
		done
	done
fi

# ---- the scenario (guest side) -------------------------------------------------
{
	cat <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "=== kernel $(cat /proc/sys/kernel/osrelease)"
fail=0
for m in $(cat /mods/order); do insmod /mods/$m.ko || { echo "FAIL: insmod $m"; fail=1; }; done
V=/dev/video0
DRV=/sys/bus/virtio/drivers/virtio_media_camera
EOF
	case $SCENARIO in
	noload) cat <<'EOF'
for i in $(seq 1 10); do
	insmod /mods/virtio_media_camera.ko || { echo "FAIL: insmod $i"; fail=1; }
	[ -d $DRV ] || { echo "FAIL: driver not registered $i"; fail=1; }
	rmmod virtio_media_camera || { echo "FAIL: rmmod $i"; fail=1; }
	[ -d $DRV ] && { echo "FAIL: driver still registered $i"; fail=1; }
done
EOF
	;;
	stream) cat <<'EOF'
insmod /mods/virtio_media_camera.ko; sleep 1
v4l2-ctl -d $V -D | head -4
v4l2-ctl -d $V --set-fmt-video=width=640,height=480,pixelformat=YUYV
v4l2-ctl -d $V --stream-mmap --stream-count=20 --stream-to=/tmp/m.raw 2>/dev/null
[ "$(wc -c < /tmp/m.raw)" = 12288000 ] || { echo "FAIL: mmap stream size"; fail=1; }
v4l2-ctl -d $V --stream-user --stream-count=20 --stream-to=/tmp/u.raw 2>/dev/null
[ "$(wc -c < /tmp/u.raw)" = 12288000 ] || { echo "FAIL: userptr stream size"; fail=1; }
rm -f /tmp/m.raw /tmp/u.raw
v4l2-compliance -d $V -s 30 > /tmp/c.log 2>&1
grep -E "fail:|warn:|Total" /tmp/c.log
# Tolerated: v4l-utils 1.22 tables (NV12 description; on 6.12 CREATE_BUFS reserved).
grep "fail:" /tmp/c.log | grep -v "fmtdesc.description mismatch" | grep -v "crbufs.reserved" && fail=1
v4l2-ctl -d $V --stream-mmap --stream-count=100000 > /dev/null 2>/tmp/s.err &
P=$!; sleep 2
v4l2-ctl -d $V --stream-mmap --stream-count=1 2>&1 | grep -q "Device or resource busy" || { echo "FAIL: no EBUSY"; fail=1; }
echo virtio0 > $DRV/unbind || { echo "FAIL: unbind"; fail=1; }
sleep 1; [ -e $V ] && { echo "FAIL: node still there"; fail=1; }
kill $P 2>/dev/null; sleep 1
echo virtio0 > $DRV/bind; sleep 1
v4l2-ctl -d $V --stream-mmap --stream-count=5 2>/dev/null || { echo "FAIL: stream after rebind"; fail=1; }
rmmod virtio_media_camera || { echo "FAIL: rmmod"; fail=1; }
for i in 1 2 3 4 5; do
	insmod /mods/virtio_media_camera.ko; sleep 0.5
	v4l2-ctl -d $V --all > /dev/null || { echo "FAIL: --all $i"; fail=1; }
	rmmod virtio_media_camera || { echo "FAIL: rmmod $i"; fail=1; }
done
EOF
	;;
	dmabuf) cat <<'EOF'
insmod /mods/virtio_media_camera.ko; sleep 1
[ -e /sys/module/vivid ] || { echo "FAIL: vivid not loaded"; fail=1; }
# Our node and the exporter (vivid's first capture node), by driver name.
V=""; E=""
for n in /dev/video*; do
	d=$(v4l2-ctl -d $n -D 2>/dev/null)
	echo "$d" | grep -q "Driver name *: virtio_media" && [ -z "$V" ] && V=$n
	echo "$d" | grep -q "Driver name *: vivid" && echo "$d" | grep -q "Video Capture$" && [ -z "$E" ] && E=$n
done
echo "device: $V exporter: $E"
# The exporter's buffers must be at least as large as ours.
v4l2-ctl -d $V --set-fmt-video=width=640,height=480,pixelformat=YUYV
v4l2-ctl -d $E --set-fmt-video=width=1280,height=720,pixelformat=YUYV
v4l2-compliance -d $V -e $E -s 20 > /tmp/c.log 2>&1
grep -E "fail:|DMABUF|Total" /tmp/c.log
grep -q "test DMABUF.*: OK" /tmp/c.log || { echo "FAIL: DMABUF not OK"; fail=1; }
grep "fail:" /tmp/c.log | grep -v "fmtdesc.description mismatch" | grep -v "crbufs.reserved" && fail=1
rmmod virtio_media_camera || { echo "FAIL: rmmod"; fail=1; }
EOF
	;;
	stress) cat <<'EOF'
insmod /mods/virtio_media_camera.ko; sleep 1
v4l2-ctl -d $V --set-fmt-video=width=320,height=240,pixelformat=YUYV
(
	ok=0
	for i in $(seq 1 8); do
		v4l2-ctl -d $V --stream-mmap --stream-count=15 > /dev/null 2>&1 && ok=$((ok + 1))
		v4l2-ctl -d $V --stream-user --stream-count=15 > /dev/null 2>&1 && ok=$((ok + 1))
	done
	echo "streams ok: $ok/16"
) > /tmp/streams.log &
S1=$!
( for i in $(seq 1 30); do v4l2-ctl -d $V --all > /dev/null 2>&1; v4l2-ctl -d $V --list-formats-ext > /dev/null 2>&1; done ) &
S2=$!
( for i in $(seq 1 30); do v4l2-ctl -d $V --try-fmt-video=width=1280,height=720,pixelformat=NV12 > /dev/null 2>&1; done ) &
S3=$!
wait $S1 $S2 $S3
cat /tmp/streams.log
grep -q "streams ok: 16/16" /tmp/streams.log || { echo "FAIL: streams"; fail=1; }
v4l2-ctl -d $V --stream-mmap --stream-count=100000 > /dev/null 2>&1 &
P=$!
( for i in $(seq 1 60); do v4l2-ctl -d $V -D > /dev/null 2>&1; done ) &
Q=$!
sleep 3
echo virtio0 > $DRV/unbind || { echo "FAIL: unbind"; fail=1; }
wait $Q
kill $P 2>/dev/null; wait $P
rmmod virtio_media_camera || { echo "FAIL: rmmod"; fail=1; }
EOF
	;;
	kill) cat <<'EOF'
insmod /mods/virtio_media_camera.ko; sleep 1
v4l2-ctl -d $V --set-fmt-video=width=640,height=480,pixelformat=YUYV
v4l2-ctl -d $V --stream-mmap --stream-count=100000 > /dev/null 2>&1 &
P=$!; sleep 3
echo KILL-SIDECAR-NOW
sleep 4
v4l2-ctl -d $V -D 2>&1 | grep -q "timed out" || { echo "FAIL: open did not time out"; fail=1; }
v4l2-ctl -d $V -D 2>&1 | grep -q "Input/output error" || { echo "FAIL: open after the timeout did not fail with EIO"; fail=1; }
kill $P; wait $P
echo virtio0 > $DRV/unbind || { echo "FAIL: unbind"; fail=1; }
rmmod virtio_media_camera || { echo "FAIL: rmmod"; fail=1; }
EOF
	;;
	esac
	cat <<'EOF'
if dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|KASAN|refcount_t|sleeping function|hung_task"; then
	echo "FAIL: kernel complained"; fail=1
fi
dmesg | grep "virtio_media_camera virtio" | tail -n 30
[ $fail = 0 ] && echo "=== GUEST PASS" || echo "=== GUEST FAIL"
poweroff -f
EOF
} >"$WORK/root/init"
chmod +x "$WORK/root/init"
(cd "$WORK/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initrd.gz"

# ---- run -------------------------------------------------------------------------
QARGS=(-L /usr/share/seabios -L /usr/share/qemu -nic none -accel tcg -cpu max -m 1G -smp 2
	-nographic -no-reboot -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz"
	-append "console=ttyS0 quiet panic=-1")
if [[ $SCENARIO != noload ]]; then
	SOCK=$WORK/cam.sock
	"$SIDECAR" serve --socket-path "$SOCK" --vm smoke >"$WORK/sidecar.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
	QARGS+=(-object memory-backend-memfd,id=mem,size=1G,share=on -machine q35,memory-backend=mem
		-chardev "socket,id=cam,path=$SOCK"
		-device vhost-user-device-pci,chardev=cam,virtio-id=48,num_vqs=2,vq_size=256,config_size=40)
fi
timeout 900 "$QEMU" "${QARGS[@]}" >"$WORK/console.log" 2>&1 &
QPID=$!
if [[ $SCENARIO == kill ]]; then
	for _ in $(seq 1200); do grep -q KILL-SIDECAR-NOW "$WORK/console.log" && break; sleep 0.5; done
	kill -9 "$SPID" 2>/dev/null || echo "sidecar had already exited"
	SPID=""
fi
wait "$QPID" || true
QPID=""
sed -n '/=== kernel/,$p' "$WORK/console.log" | tr -d '\r'
cp "$WORK/console.log" "${TMPDIR:-/tmp}/guest-smoke-last-console.log"
cp "$WORK/sidecar.log" "${TMPDIR:-/tmp}/guest-smoke-last-sidecar.log" 2>/dev/null || true
if grep -q "=== GUEST PASS" "$WORK/console.log"; then
	echo "RESULT: PASS"
else
	echo "RESULT: FAIL"
	exit 1
fi
