#!/bin/sh
# Guest script (runs inside the e2e initramfs): exercise the in-kernel vivid driver with every
# userspace tool in the image. Writes its artefacts to $RESULTS; exit code 0 = all captures worked.
# v4l2-compliance totals are recorded, not judged (see docs/e2e-infrastructure.md).
set -u
R="${RESULTS:-/results}"
fail=0
step() { echo "=== $*"; }
bad() { echo "FAIL: $*"; fail=1; }

step "modprobe vivid"
modprobe vivid n_devs=1 || bad "modprobe vivid"
ls -l /dev/video* /dev/media* 2>&1
DEV=""
for v in /sys/class/video4linux/video*; do
    # vivid's first node is the video capture device.
    if [ "$(cat "$v/name" 2>/dev/null)" = "vivid-000-vid-cap" ]; then DEV="/dev/${v##*/}"; break; fi
done
[ -n "$DEV" ] || { DEV=/dev/video0; echo "vivid-000-vid-cap not found by name, using $DEV"; }
echo "capture device: $DEV"
v4l2-ctl -d "$DEV" --all > "$R/v4l2-ctl-all.txt" 2>&1 || bad "v4l2-ctl --all"
v4l2-ctl -d "$DEV" --get-fmt-video 2>&1 | tee "$R/fmt.txt"
SIZEIMAGE="$(sed -n 's/.*Size Image *: *\([0-9]*\).*/\1/p' "$R/fmt.txt")"

# compliance NAME [OPTIONS]: v4l2-compliance -d $DEV OPTIONS into $R/NAME.txt, its totals and failures shown, its time
# in steps.txt.
compliance() {
    name=$1
    shift
    step "v4l2-compliance $* -d $DEV"
    t0="$(cut -d' ' -f1 /proc/uptime)"
    v4l2-compliance "$@" -d "$DEV" > "$R/$name.txt" 2>&1
    echo "exit code $?" >> "$R/$name.txt"
    t1="$(cut -d' ' -f1 /proc/uptime)"
    grep -E '^Total' "$R/$name.txt"
    grep -E 'fail:' "$R/$name.txt" | sort | uniq -c
    echo "$(echo "$name" | tr - _)_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >> "$R/steps.txt"
}
compliance compliance
compliance compliance-s -s

step "v4l2-ctl --stream-mmap --stream-count=5"
v4l2-ctl -d "$DEV" --stream-mmap --stream-count=5 --stream-to="$R/f.raw" > "$R/v4l2-ctl-stream.txt" 2>&1 \
    || bad "v4l2-ctl stream"
sz="$(stat -c %s "$R/f.raw" 2>/dev/null || echo 0)"
echo "f.raw: $sz bytes (sizeimage ${SIZEIMAGE:-?})"
[ -n "$SIZEIMAGE" ] && [ "$sz" -eq $((5 * SIZEIMAGE)) ] || bad "f.raw is $sz bytes, expected 5 x ${SIZEIMAGE:-?}"

step "ffmpeg -f v4l2 -frames:v 3"
ffmpeg -hide_banner -nostdin -loglevel info -f v4l2 -input_format yuyv422 -video_size 640x360 -i "$DEV" -frames:v 3 -c:v rawvideo -f rawvideo \
    -y "$R/ffmpeg.raw" > "$R/ffmpeg.txt" 2>&1 || bad "ffmpeg"
tail -n 3 "$R/ffmpeg.txt"
sz="$(stat -c %s "$R/ffmpeg.raw" 2>/dev/null || echo 0)"
echo "ffmpeg.raw: $sz bytes"
[ "$sz" -gt 0 ] && [ -n "$SIZEIMAGE" ] && [ "$sz" -eq $((3 * SIZEIMAGE)) ] || bad "ffmpeg.raw is $sz bytes, expected 3 x ${SIZEIMAGE:-?}"

step "gst-launch-1.0 v4l2src num-buffers=3 ! filesink"
gst-launch-1.0 -q v4l2src device="$DEV" num-buffers=3 ! video/x-raw,format=YUY2,width=640,height=360 ! filesink location="$R/gst.raw" > "$R/gst.txt" 2>&1 \
    || bad "gst-launch-1.0"
cat "$R/gst.txt"
sz="$(stat -c %s "$R/gst.raw" 2>/dev/null || echo 0)"
echo "gst.raw: $sz bytes"
[ -n "$SIZEIMAGE" ] && [ "$sz" -eq $((3 * SIZEIMAGE)) ] || bad "gst.raw is $sz bytes, expected 3 x ${SIZEIMAGE:-?}"

step "done: fail=$fail"
exit "$fail"
