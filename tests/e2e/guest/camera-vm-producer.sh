#!/bin/sh
# The camera-VM phase's camera VM, run inside the guest by the initramfs /init (busybox sh); tests/e2e/camera-vm.sh
# is the host side. vivid plays the USB camera; the project's driver binds the output device its producer sidecar
# serves; the camera-VM agent (guest-kernel/scripts/camera-vm-agent.sh) runs a pipeline into the output node while
# Frames Wanted is 1. The agent starts with the known-pattern pipeline (v4l2-ctl writing $SPECTRUM_FILES/known.yuyv,
# YUYV 320x240, in a loop: the judge knows every byte); the host switches it on the host channel (/dev/ttyS1):
#   agent pattern|vivid   stop the agent (it stops its pipeline) and start it with that pipeline: vivid is the
#                         agent's own default, ffmpeg from vivid into the output node
#   kill-pipeline         kill -9 the running ffmpeg (the camera VM's producer dies; the agent restarts it)
#   end                   stop the agent and finish
# Markers on the serial console (tests/e2e/camera_vm_driver.py follows them), each with t=<guest ns>:
#   CAMVM-PRODUCER: agent-ready mode=1|2            (1 pattern, 2 vivid)
#   CAMVM-PRODUCER: state wanted=W vivid=V pipeline=P pid=N
#       W: Frames Wanted (-1 unreadable); V: processes that have vivid's node open; P: 0 no pipeline, 1 the pattern's
#       v4l2-ctl, 2 ffmpeg; N: the pipeline's pid. Written when anything changes, and every 2 s.
#   CAMVM-PRODUCER: killed pid=N | end
# The script gives up after MAX_SECONDS without an "end", so its results still reach the host.
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
MARK_TAG=CAMVM-PRODUCER MARK_FILE=$R/producer-markers.txt
MAX_SECONDS=600
AGENT_SCRIPT=$SPECTRUM_FILES/camera-vm-agent.sh

# vivid with one node, video capture only, so that the output device's node is the only other one.
modprobe vivid n_devs=1 node_types=0x1 || echo "CAMVM-PRODUCER: modprobe vivid failed"
VIVID=
for n in /sys/class/video4linux/video*; do
    grep -q '^vivid-000-vid-cap' "$n/name" 2>/dev/null && VIVID=/dev/${n##*/}
done
OUT=$(wait_device)
{ echo "vivid=$VIVID output=$OUT"; v4l2-ctl -d "$OUT" --info --list-ctrls --list-formats-out 2>&1; } > "$R/producer-devices.txt"
[ -n "$VIVID" ] && [ -n "$OUT" ] || { echo "CAMVM-PRODUCER: no vivid ($VIVID) or no output node ($OUT)"; ls -l /dev/video* 2>&1; exit 1; }
echo "CAMVM-PRODUCER: vivid $VIVID, output device $OUT"

# ---- what the camera VM is doing, sampled twice a second ----
state() {
    wanted=$(v4l2-ctl -d "$OUT" --get-ctrl=frames_wanted 2>/dev/null | sed -n 's/.*: *\([01]\)$/\1/p')
    vivid=$(ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -c -- "-> $VIVID\$")
    pipeline=0 pid=0
    for p in $(pidof v4l2-ctl); do
        grep -q stream-from "/proc/$p/cmdline" 2>/dev/null && pipeline=1 pid=$p
    done
    p=$(pidof ffmpeg) && pipeline=2 pid=${p%% *}
    echo "wanted=${wanted:--1} vivid=$vivid pipeline=$pipeline pid=$pid"
}
sampler() {
    last= n=0
    while :; do
        now=$(state)
        if [ "$now" != "$last" ] || [ $n -ge 4 ]; then
            console_mark state $now
            last=$now n=0
        fi
        n=$((n + 1))
        sleep 0.5
    done
}

# ---- the agent ----
AGENT=
start_agent() {
    if [ "$1" = pattern ]; then
        sh "$AGENT_SCRIPT" --output "$OUT" --camera "$VIVID" --recheck 2 --command \
            "exec v4l2-ctl -d \"\$SPECTRUM_OUTPUT\" --set-fmt-video-out=width=320,height=240,pixelformat=YUYV --stream-out-mmap=4 --stream-from=$SPECTRUM_FILES/known.yuyv --stream-loop" \
            >> "$R/agent-pattern.log" 2>&1 &
        AGENT=$! mode=1
    else
        sh "$AGENT_SCRIPT" --output "$OUT" --camera "$VIVID" --recheck 2 >> "$R/agent-vivid.log" 2>&1 &
        AGENT=$! mode=2
    fi
    console_mark agent-ready mode=$mode
}
stop_agent() {
    [ -n "$AGENT" ] || return 0
    kill -TERM "$AGENT" 2>/dev/null
    wait "$AGENT"
    AGENT=
}

sampler &
SAMPLER=$!
host_channel /dev/ttyS1
start_agent pattern

START=$(uptime_s)
while wait_host_command "$START" $MAX_SECONDS; do
    case $CMD in
    agent) stop_agent; start_agent "$ARGS" ;;
    kill-pipeline)
        pid=$(pidof ffmpeg)
        pid=${pid%% *}
        [ -n "$pid" ] && kill -9 "$pid"
        console_mark killed pid=${pid:-0}
        ;;
    end) break ;;
    *) echo "CAMVM-PRODUCER: unknown command '$CMD'" ;;
    esac
done
stop_agent
kill "$SAMPLER" 2>/dev/null
console_mark end
dmesg > "$R/dmesg.txt"
exit 0
