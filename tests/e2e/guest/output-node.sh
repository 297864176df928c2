#!/bin/sh
# The output-node phase, run inside the camera VM guest by the initramfs /init (busybox sh); tests/e2e/output-node.sh
# is the host side. The guest's virtio-media device is the producer sidecar's output device ('serve --role
# producer'); the host's consumer (spectrum-camera-frontend on its own sidecar) streams all along, and the host allows
# or denies it when this script says so on the console ("OUTPUT-E2E: allow|deny t=..."), which makes the host want
# frames or not. Records, for tests/e2e/judge_output_node.py:
#   info.txt, ctrls.txt           v4l2-ctl --all and --list-ctrls of the output node
#   wanted-*.txt                  Frames Wanted (v4l2-ctl --get-ctrl) at each step
#   compliance.log, compliance-streaming.log
#                                 v4l2-compliance on the output node, without and with -s (and vivid as -e exporter)
#   event-on.txt, event-off.txt   the V4L2_EVENT_CTRL that v4l2-ctl --wait-for-event got when the host started and
#                                 stopped wanting frames; *.exit its status; *.ms how long after the request
#   demanded-fmt.txt, demanded-parm.txt
#                                 G_FMT and G_PARM of the output node while frames are wanted
#   <producer>.log, <producer>.exit, <producer>.ms
#                                 each producer run: ffmpeg (write()) at its own pace (-re) and unpaced, ffmpeg NV12,
#                                 GStreamer v4l2sink (mmap and userptr), v4l2-ctl MMAP, USERPTR and DMABUF
#   agent.log, agent.exit, camera-*.txt
#                                 the camera-VM agent with its default pipeline (ffmpeg from vivid): whether vivid's
#                                 node is open before, while and after frames are wanted, and after its ffmpeg is killed
#   timeouts.txt                  "LABEL: what timed out", for the checks that depend on it
#   dmesg.txt                     the kernel log (by /init)
# Exits non-zero only when the phase could not run (no output node).
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
# console_mark's tag and file (e2e-lib.sh).
# shellcheck disable=SC2034
MARK_TAG=OUTPUT-E2E
MARK_FILE=$R/marks.txt
TIMEOUT_LOG=$R/timeouts.txt
AGENT=/spectrum/files/camera-vm-agent.sh
: > "$MARK_FILE"
: > "$TIMEOUT_LOG"

say() { echo "OUTPUT-E2E-LOG: $*"; }
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# run_timed NAME CMD...: runs CMD with its output in NAME.log, its status in NAME.exit and its duration in NAME.ms.
run_timed() {
    name=$1
    shift
    t0=$(ms)
    "$@" > "$R/$name.log" 2>&1 < /dev/null
    echo $? > "$R/$name.exit"
    echo $(($(ms) - t0)) > "$R/$name.ms"
    say "$name: exit $(cat "$R/$name.exit") after $(cat "$R/$name.ms") ms"
}

# wanted NAME: Frames Wanted now, into wanted-NAME.txt.
wanted() { v4l2-ctl -d "$DEV" --get-ctrl=frames_wanted > "$R/wanted-$1.txt" 2>&1; }

# wait_event NAME ACTION: one v4l2-ctl --wait-for-event in the background, then ACTION (allow or deny) on the console
# for the host, then up to 30 s for the event; event-NAME.txt, .exit and .ms (from the mark).
wait_event() {
    v4l2-ctl -d "$DEV" --wait-for-event=ctrl=frames_wanted > "$R/event-$1.txt" 2>&1 &
    waiter=$!
    sleep 2   # the waiter has subscribed (its open and control walk take well under a second)
    t0=$(ms)
    console_mark "$2"
    i=0
    while kill -0 $waiter 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 $waiter 2>/dev/null; then
        kill $waiter
        echo timeout > "$R/event-$1.exit"
        timed_out "event-$1" "no Frames Wanted event within 30 s of '$2'"
    else
        wait $waiter
        echo $? > "$R/event-$1.exit"
    fi
    echo $(($(ms) - t0)) > "$R/event-$1.ms"
    say "event $1: exit $(cat "$R/event-$1.exit") after $(cat "$R/event-$1.ms") ms: $(cat "$R/event-$1.txt")"
}

# camera_users: how many file descriptors of any process are open on vivid's capture node.
camera_users() {
    n=0
    for fd in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "$CAMERA" ] && n=$((n + 1))
    done
    echo $n
}

# wait_camera NAME open|closed SECONDS: until vivid's node is open (or closed), for up to SECONDS; camera-NAME.txt
# gets "open N" or "closed" and the seconds it took (or "timeout").
wait_camera() {
    i=0
    while [ $i -lt $(($3 * 10)) ]; do
        n=$(camera_users)
        if { [ "$2" = open ] && [ "$n" -gt 0 ]; } || { [ "$2" = closed ] && [ "$n" = 0 ]; }; then
            echo "$2 users=$n after_ds=$i" > "$R/camera-$1.txt"
            say "camera $1: $2 ($n users) after $i/10 s"
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "timeout users=$(camera_users)" > "$R/camera-$1.txt"
    timed_out "camera-$1" "vivid's node not $2 within $3 s"
}

DEV=$(wait_device) || { say "no $MOD video device"; dmesg | tail -40; exit 1; }
modprobe vivid n_devs=1 > "$R/vivid.log" 2>&1
sleep 1
CAMERA=""
for n in /dev/video*; do
    d=$(v4l2-ctl -d "$n" -D 2>/dev/null)
    echo "$d" | grep -q "Driver name *: vivid" && echo "$d" | grep -q "Video Capture$" && { CAMERA=$n; break; }
done
say "output node $DEV; vivid capture node ${CAMERA:-none}; kernel $(uname -r)"
echo "$CAMERA" > "$R/camera-node.txt"

v4l2-ctl -d "$DEV" --all > "$R/info.txt" 2>&1
v4l2-ctl -d "$DEV" --list-ctrls > "$R/ctrls.txt" 2>&1
wanted initial

# Compliance from the default format, before anyone wants frames. The exporter's buffers must be at least as large
# as any format the tool sets on the output node.
v4l2-ctl -d "$DEV" --set-fmt-video-out=width=640,height=480,pixelformat=YUYV > /dev/null 2>&1
v4l2-ctl -d "$CAMERA" --set-fmt-video=width=1920,height=1080,pixelformat=YUYV > /dev/null 2>&1
run_timed compliance v4l2-compliance -d "$DEV"
run_timed compliance-streaming v4l2-compliance -d "$DEV" -s 10 -e "$CAMERA"
v4l2-ctl -d "$CAMERA" --set-fmt-video=width=640,height=480,pixelformat=YUYV > /dev/null 2>&1

# The host wants frames once its consumer is allowed: the control goes to 1 and raises its event.
wait_event on allow
wanted on
v4l2-ctl -d "$DEV" --get-fmt-video-out > "$R/demanded-fmt.txt" 2>&1
v4l2-ctl -d "$DEV" --get-output-parm > "$R/demanded-parm.txt" 2>&1

# Producers while frames are wanted, each marked for the host (its consumer should see their frames). A pause
# between them lets the service's stall limit (2 s) turn the consumer's frames black again.
produce() {
    name=$1
    shift
    console_mark "$name-start"
    run_timed "$name" "$@"
    console_mark "$name-end"
    sleep 3
}
produce ffmpeg ffmpeg -hide_banner -nostdin -loglevel warning -re -f lavfi -i testsrc=size=640x480:rate=30 -t 6 \
    -pix_fmt yuyv422 -f v4l2 "$DEV"
# Unpaced: only the device's buffer returns pace write(); 90 frames.
produce ffmpeg-unpaced ffmpeg -hide_banner -nostdin -loglevel warning -f lavfi -i testsrc=size=640x480:rate=30 \
    -frames:v 90 -pix_fmt yuyv422 -f v4l2 "$DEV"
produce ffmpeg-nv12 ffmpeg -hide_banner -nostdin -loglevel warning -re -f lavfi -i testsrc=size=320x240:rate=30 -t 4 \
    -pix_fmt nv12 -f v4l2 "$DEV"
produce gst-mmap gst-launch-1.0 -q videotestsrc num-buffers=150 ! video/x-raw,format=YUY2,width=640,height=480,framerate=30/1 \
    ! v4l2sink device="$DEV" io-mode=mmap
produce gst-userptr gst-launch-1.0 -q videotestsrc num-buffers=90 ! video/x-raw,format=I420,width=640,height=480,framerate=30/1 \
    ! v4l2sink device="$DEV" io-mode=userptr
produce v4l2ctl-mmap v4l2-ctl -d "$DEV" --set-fmt-video-out=width=640,height=480,pixelformat=YUYV --stream-out-mmap \
    --stream-count=90
produce v4l2ctl-user v4l2-ctl -d "$DEV" --set-fmt-video-out=width=640,height=480,pixelformat=YUYV --stream-out-user \
    --stream-count=90
produce v4l2ctl-dmabuf v4l2-ctl -d "$DEV" --set-fmt-video-out=width=640,height=480,pixelformat=YUYV \
    --stream-out-dmabuf --export-device "$CAMERA" --stream-count=90

# The host stops wanting frames: the control goes to 0 and raises its event.
wait_event off deny
wanted off

# The agent: the camera stays closed until frames are wanted, is opened by the agent's ffmpeg while they are, is
# opened again after that ffmpeg is killed, and is closed when they no longer are; the agent stops on SIGTERM.
sh "$AGENT" --output "$DEV" --camera "$CAMERA" --recheck 2 > "$R/agent.out" 2> "$R/agent.log" &
agent=$!
sleep 4
echo "users=$(camera_users)" > "$R/camera-before.txt"
wanted agent-before
console_mark agent-allow
wait_camera open open 30
wanted agent-on
sleep 6
first=$(pidof ffmpeg)
echo "$first" > "$R/agent-ffmpeg-first.txt"
console_mark agent-kill
[ -n "$first" ] && kill -KILL "$first"
sleep 1
i=0
second=""
while [ $i -lt 200 ]; do
    second=$(pidof ffmpeg)
    [ -n "$second" ] && [ "$second" != "$first" ] && [ "$(camera_users)" -gt 0 ] && break
    sleep 0.1
    i=$((i + 1))
done
echo "$second" > "$R/agent-ffmpeg-second.txt"
echo "after_ds=$i users=$(camera_users)" > "$R/camera-restarted.txt"
say "agent restarted ffmpeg: '$first' -> '$second' after $i/10 s"
sleep 5
console_mark agent-deny
wait_camera closed closed 30
wanted agent-off
sleep 2
kill -TERM $agent
wait $agent
echo $? > "$R/agent.exit"
echo "users=$(camera_users) ffmpeg=$(pidof ffmpeg)" > "$R/camera-after.txt"
console_mark end
exit 0
