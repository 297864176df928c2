#!/bin/sh
# The camera-VM phase's consumer VM, run inside the guest by the initramfs /init (busybox sh); tests/e2e/camera-vm.sh
# is the host side. An ordinary VM with the project's capture device, fed by the camera service from the camera VM:
# it captures with v4l2-ctl when the host says so and stops when it says so, on the host channel (/dev/ttyS1):
#   capture PHASE FOURCC WxH   start a v4l2-ctl MMAP capture to $RESULTS/PHASE.raw (marked_capture, 4 buffers), of
#                              at most MAX_FRAMES frames so that a capture nobody stops cannot fill the guest's RAM
#   stop                       end it (SIGTERM to v4l2-ctl; SIGKILL if it is still there 10 s later) and wait for it
#   end                        finish the script
# Markers on the serial console (tests/e2e/camera_vm_driver.py follows them):
#   CAMVM-CONSUMER: ready | PHASE-ready | PHASE frames=N | PHASE-end frames=N rc=N | end   t=<guest ns>
# The script gives up after MAX_SECONDS without an "end", so its results still reach the host.
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
MARK_TAG=CAMVM-CONSUMER MARK_FILE=$R/consumer-markers.txt
MAX_SECONDS=600
# Each frame stays in RAM (the initramfs's tmpfs, half of the guest's 1 GiB, about 260 MB of it the base image): two
# captures of 700 YUYV 320x240 frames take 215 MB. A run needs about 450 frames a capture.
MAX_FRAMES=700

DEV=$(wait_device) || { echo "CAMVM-CONSUMER: no $MOD video device"; ls -l /dev/video* 2>&1; exit 1; }
v4l2-ctl -d "$DEV" --info --list-formats-ext > "$R/consumer-device.txt" 2>&1
host_channel /dev/ttyS1
console_mark ready

CAPTURE= PHASE=
# SIGTERM, not SIGINT: a non-interactive shell starts background commands with SIGINT ignored, and v4l2-ctl keeps
# that (a first run's capture went on after SIGINT until the guest's RAM was full).
stop_capture() {
    [ -n "$CAPTURE" ] || return 0
    pid=$(cat "$R/$PHASE-v4l2ctl.pid")
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 "$pid" 2>/dev/null && { echo "CAMVM-CONSUMER: v4l2-ctl still runs 10 s after SIGTERM; SIGKILL"; kill -KILL "$pid"; }
    wait "$CAPTURE"
    CAPTURE=
}

START=$(uptime_s)
while wait_host_command "$START" $MAX_SECONDS; do
    case $CMD in
    capture)
        stop_capture
        set -- $ARGS
        PHASE=$1
        # The host ends the capture long before MAX_FRAMES.
        marked_capture "$R" "$1" $MAX_FRAMES "$2" "$3" 4 &
        CAPTURE=$!
        ;;
    stop) stop_capture ;;
    end) break ;;
    *) echo "CAMVM-CONSUMER: unknown command '$CMD'" ;;
    esac
done
stop_capture
console_mark end
dmesg > "$R/dmesg.txt"
exit 0
