#!/bin/sh
# Guest half of the two-camera part of the host-camera end-to-end test, run by tests/e2e/guest/host-camera.sh after
# the camera-service part. Two vivid instances are two cameras with different pictures: cam-a (/dev/video0) shows
# vivid's 75% colour bars, cam-b (/dev/video1) 100% white, so every frame's mean luma says which camera it came from.
# The camera service owns both; vm-a is fed from cam-a (the default, the first camera) and vm-b is assigned cam-b; each
# VM's sidecar runs as its own unprivileged uid and spectrum-camera-frontend plays its guest on one long stream while
# this script moves vm-a to cam-b and back, and unplugs cam-b. Everything goes to $RESULTS/two-cameras/; the host
# judges (tests/e2e/judge-two-cameras.py). Exit code: 0 when every step ran.
set -u
BIN="$SPECTRUM_FILES/spectrum-camera"
FE="$SPECTRUM_FILES/spectrum-camera-frontend"
OUT="$RESULTS/two-cameras"
mkdir -p "$OUT"
RUN=/tmp/tc/run
OPS="$RUN/operator.sock"
MENU="formats=YUYV,NV12,YU12;sizes=320x240,640x360;fps=15"
STREAM=YUYV:640x360@15
export DOTNET_EnableDiagnostics=0

say() { echo "TWO-CAMERAS: $*"; }
ctl() { "$BIN" ctl --operator-socket "$OPS" "$@"; }
# until_seen FILE PATTERN SECONDS: until FILE contains PATTERN (grep -E); 1 on timeout.
until_seen() {
    i=0
    while [ "$i" -lt $(($3 * 10)) ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "$1: no '$2' within $3 s" >> "$OUT/wait-timeouts.txt"
    return 1
}
# mark LABEL: both frontends record LABEL between two frames; returns once both did.
mark() {
    echo "mark $1" >&4
    echo "mark $1" >&5
    until_seen "$OUT/a.jsonl" "\"label\":\"$1\"" 10
    until_seen "$OUT/b.jsonl" "\"label\":\"$1\"" 10
}
# start_sidecar NAME UID: the sidecar of vm-NAME as UID (env and setpriv exec it, so $! is the sidecar).
start_sidecar() {
    mkdir -p "/tmp/tc-$1"
    chown "$2:$2" "/tmp/tc-$1"
    env HOME=/tmp "$SPECTRUM_FILES/setpriv" --reuid="$2" --regid="$2" --clear-groups "$BIN" serve \
        --socket-path "/tmp/tc-$1/cam.sock" --vm "vm-$1" --camera-service "$RUN/vms/vm-$1.sock" --menu "$MENU" \
        > "$OUT/sidecar-$1.log" 2>&1 &
}
video_fds() { for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null | grep '^/dev/video' ; }

say start
rmmod vivid > /dev/null 2>&1
# Two instances with only a video capture node each: /dev/video0 and /dev/video1.
modprobe vivid n_devs=2 node_types=0x1,0x1 > "$OUT/modprobe.txt" 2>&1
echo $? > "$OUT/modprobe.rc"
ls -l /dev/video* > "$OUT/nodes.txt" 2>&1
v4l2-ctl -d /dev/video1 --set-ctrl test_pattern=6 > "$OUT/test-pattern.txt" 2>&1
echo $? > "$OUT/test-pattern.rc"
v4l2-ctl -d /dev/video1 --list-ctrls-menus > "$OUT/video1-ctrls.txt" 2>&1
chmod 0600 /dev/video*

mkdir -p "$RUN" /tmp/tc/state
"$BIN" camera-service --camera cam-a=/dev/video0 --camera cam-b=/dev/video1 --vm vm-a:1001 --vm vm-b:1002 \
    --runtime-dir "$RUN" --state-dir /tmp/tc/state > "$OUT/service.log" 2>&1 &
SVC=$!
until_seen "$OUT/service.log" "operator socket" 60
ctl allow vm-a > "$OUT/allow-a.txt" 2>&1
ctl allow vm-b > "$OUT/allow-b.txt" 2>&1
ctl assign vm-b cam-b > "$OUT/assign-b.txt" 2>&1
echo $? > "$OUT/assign-b.rc"
video_fds "$SVC" > "$OUT/fd-idle.txt"

start_sidecar a 1001
SA=$!
start_sidecar b 1002
SB=$!
rm -f /tmp/tc-ctl-a /tmp/tc-ctl-b
mkfifo /tmp/tc-ctl-a /tmp/tc-ctl-b
"$FE" --socket /tmp/tc-a/cam.sock --stream "$STREAM" --control-fifo /tmp/tc-ctl-a --frame-timeout 20 --connect-timeout 60 \
    --max-seconds 300 > "$OUT/a.jsonl" 2> "$OUT/a.err" &
FA=$!
"$FE" --socket /tmp/tc-b/cam.sock --stream "$STREAM" --control-fifo /tmp/tc-ctl-b --frame-timeout 20 --connect-timeout 60 \
    --max-seconds 300 > "$OUT/b.jsonl" 2> "$OUT/b.err" &
FB=$!
exec 4> /tmp/tc-ctl-a 5> /tmp/tc-ctl-b
until_seen "$OUT/a.jsonl" '"class":"image"' 90
until_seen "$OUT/b.jsonl" '"class":"image"' 90
sleep 2
mark both
sleep 3
ctl cameras --json > "$OUT/cameras-both.json" 2>&1
ctl status --json > "$OUT/status-both.json" 2>&1
video_fds "$SVC" > "$OUT/fd-both.txt"

say move
mark move
ctl assign vm-a cam-b > "$OUT/assign-a-b.txt" 2>&1
echo $? > "$OUT/assign-a-b.rc"
mark moved
sleep 5
ctl cameras --json > "$OUT/cameras-moved.json" 2>&1
video_fds "$SVC" > "$OUT/fd-moved.txt"
mark return
ctl assign vm-a cam-a > "$OUT/assign-a-a.txt" 2>&1
echo $? > "$OUT/assign-a-a.rc"
mark returned
sleep 5

say unplug
# vivid's Disconnect control on cam-b only; this shell holds fd 3 so vivid stays gone until it is closed.
exec 3< /dev/video1
mark unplug
v4l2-ctl -d /dev/video1 --set-ctrl disconnect=1 > "$OUT/disconnect.txt" 2>&1
echo $? > "$OUT/disconnect.rc"
mark unplugged
sleep 5
ctl status --json > "$OUT/status-unplugged.json" 2>&1
mark replug
exec 3<&-
mark replugged
until_seen "$OUT/b.jsonl" 'replugged' 10
sleep 8
mark end
echo stop >&4
echo stop >&5
exec 4>&- 5>&-
wait "$FA"
echo $? > "$OUT/a.rc"
wait "$FB"
echo $? > "$OUT/b.rc"
wait "$SA"
wait "$SB"
sleep 1
video_fds "$SVC" > "$OUT/fd-after.txt"
ctl audit --json > "$OUT/audit.json" 2>&1
kill -TERM "$SVC"
wait "$SVC"
echo $? > "$OUT/service.rc"
say finished
echo done > "$OUT/finished"
exit 0
