#!/bin/sh
# End-to-end suite, run inside the guest by the initramfs /init (busybox sh).
# Settings come from /spectrum/files/e2e.conf (written by tests/e2e/run.sh):
#   MODE=full|smoke   full: compliance (plain, -s, -f), every client in every format, module reloads, reboots
#                     smoke: the module loads and streams (the 6.12 check)
#   RELOADS=N REBOOTS=N
# Everything lands in $RESULTS, which the host checks (tests/e2e/evaluate.py); frame counts are kept small because
# every capture travels back through guest RAM and the results disk. The script only fails on
# infrastructure problems (no device node); the host judges every result.
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
MODE=full RELOADS=10 REBOOTS=3
[ -f /spectrum/files/e2e.conf ] && . /spectrum/files/e2e.conf

say() { echo "E2E: $*"; }

# Results survive reboots on the results disk: restore what earlier boots wrote.
DISK=$(results_disk)
restore_results "$DISK"
BOOT=$(( $(cat "$R/boot-count" 2>/dev/null || echo 0) + 1 ))
echo "$BOOT" > "$R/boot-count"
say "boot $BOOT, mode $MODE, kernel $(uname -r)"

# capture TOOL FOURCC WxH FRAMES NAME
capture() {
    tool=$1 f=$2 size=$3 n=$4 name=$5
    w=${size%x*} h=${size#*x}
    out="$R/capture-$name.raw"
    rm -f "$out"
    case $tool in
    v4l2ctl-mmap)
        v4l2-ctl -d "$DEV" --set-fmt-video=width=$w,height=$h,pixelformat=$f --stream-mmap=4 \
            --stream-count=$n --stream-to="$out" > "$R/capture-$name.log" 2>&1 ;;
    v4l2ctl-user)
        v4l2-ctl -d "$DEV" --set-fmt-video=width=$w,height=$h,pixelformat=$f --stream-user=4 \
            --stream-count=$n --stream-to="$out" > "$R/capture-$name.log" 2>&1 ;;
    ffmpeg)
        case $f in YUYV) pf=yuyv422 ;; NV12) pf=nv12 ;; YU12) pf=yuv420p ;; esac
        ffmpeg -hide_banner -nostdin -loglevel error -f v4l2 -input_format $pf -video_size $size -framerate 30 \
            -i "$DEV" -frames:v $n -f rawvideo -y "$out" > "$R/capture-$name.log" 2>&1 ;;
    gst)
        case $f in YUYV) gf=YUY2 ;; NV12) gf=NV12 ;; YU12) gf=I420 ;; esac
        gst-launch-1.0 -q v4l2src device="$DEV" num-buffers=$n ! \
            "video/x-raw,format=$gf,width=$w,height=$h,framerate=30/1" ! filesink location="$out" \
            > "$R/capture-$name.log" 2>&1 ;;
    esac
    rc=$?
    echo "$tool $f $size $n $rc" > "$R/capture-$name.meta"
    say "capture $name: exit $rc, $(wc -c < "$out" 2>/dev/null || echo 0) bytes"
}

DEV=$(find_device) || { say "no $MOD video device"; ls -l /dev/video* 2>&1; dmesg | tail -40; exit 1; }
say "device $DEV: $(cat /sys/class/video4linux/${DEV#/dev/}/name)"
v4l2-ctl -d "$DEV" --all > "$R/v4l2-ctl-all-boot$BOOT.txt" 2>&1
say "v4l2-ctl --all: exit $?"

if [ "$BOOT" -eq 1 ]; then
    if [ "$MODE" = full ]; then
        say "v4l2-compliance"
        v4l2-compliance -d "$DEV" > "$R/compliance-plain.log" 2>&1
        v4l2-compliance -d "$DEV" -s 30 > "$R/compliance-streaming.log" 2>&1
        v4l2-compliance -d "$DEV" -f > "$R/compliance-formats.log" 2>&1
        for f in YUYV NV12 YU12; do
            capture v4l2ctl-mmap $f 640x480 15 "v4l2ctl-$f-640x480"
            capture ffmpeg $f 640x480 10 "ffmpeg-$f-640x480"
            capture gst $f 640x480 10 "gst-$f-640x480"
        done
        capture v4l2ctl-user NV12 1280x720 5 "v4l2ctl-user-NV12-1280x720"
        capture v4l2ctl-mmap YU12 1920x1080 5 "v4l2ctl-YU12-1920x1080"
        i=1
        while [ $i -le "$RELOADS" ]; do
            rmmod $MOD && insmod "$KO" && DEV=$(wait_device) || say "reload $i: module or device missing"
            capture v4l2ctl-mmap YUYV 640x480 5 "reload-$i"
            i=$((i + 1))
        done
    else
        v4l2-compliance -d "$DEV" > "$R/compliance-plain.log" 2>&1
        for f in YUYV NV12 YU12; do
            capture v4l2ctl-mmap $f 640x480 20 "v4l2ctl-$f-640x480"
        done
    fi
else
    capture v4l2ctl-mmap YUYV 640x480 5 "reboot-$((BOOT - 1))"
fi

dmesg > "$R/dmesg-boot$BOOT.txt"
if [ "$MODE" = full ] && [ "$BOOT" -le "$REBOOTS" ] && [ -n "$DISK" ]; then
    say "saving results and rebooting ($BOOT of $REBOOTS reboots)"
    reboot_keeping_results "$DISK"
fi
if [ "$MODE" = full ]; then
    rmmod $MOD && echo ok > "$R/final-rmmod" || echo failed > "$R/final-rmmod"
fi
exit 0
