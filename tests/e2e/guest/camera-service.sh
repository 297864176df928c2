#!/bin/sh
# Guest half of the camera-service end-to-end test, run by tests/e2e/guest/host-camera.sh after its own steps (vivid
# loaded, /dev/video0 with its by-id link). The guest plays the host: the camera service owns vivid, two sidecars run
# as unprivileged uids with no access to /dev/video*, and spectrum-camera-frontend plays each VM (VMM + guest driver)
# against its sidecar, printing one JSON line per frame. Everything goes to $RESULTS/camera-service/; this script only
# records (the host judges, in tests/e2e/host-camera.sh). Exit code: 0 when every step ran.
set -u
# BIN (spectrum-camera) and LINK_ID (vivid's by-id link) come from tests/e2e/guest/host-camera.sh, which runs this.
: "${BIN:?}" "${LINK_ID:?}"
FE="$SPECTRUM_FILES/spectrum-camera-frontend"
OUT="$RESULTS/camera-service"
mkdir -p "$OUT"
RUN=/tmp/cs/run
STATE=/tmp/cs/state
OPS="$RUN/operator.sock"
UID_A=1001
UID_B=1002
# The guests' menu: 640x360 is a vivid size for every format (a copy); 320x240 is not (vivid has 320x180 and 640x360),
# so the service must scale for it.
MENU="formats=YUYV,NV12,YU12;sizes=320x240,640x360;fps=15"
CONT=YUYV:640x360@15
export DOTNET_EnableDiagnostics=0

say() { echo "CAMERA-SERVICE: $*"; }
. "$SPECTRUM_FILES/e2e-lib.sh"
# Every wait and mark that runs out of time is recorded here under its mark's label ("start" before the first): the
# judge fails each check whose window that label bounds.
TIMEOUT_LOG="$OUT/wait-timeouts.txt"
phase() { echo "$1 $(uptime_s)" >> "$OUT/timing.txt"; say "$1"; }
# wait_class FILE LABEL CLASS SECONDS: until FILE has a frame of CLASS after the mark LABEL ("start": from the start).
wait_class() {
    i=0
    while [ "$i" -lt $(($4 * 4)) ]; do
        awk -v l="\"label\":\"$2\"" -v c="\"class\":\"$3\"" \
            'BEGIN { m = (l == "\"label\":\"start\"") } index($0, l) { m = 1 } m && index($0, c) { f = 1; exit } END { exit !f }' \
            "$1" 2>/dev/null && return 0
        sleep 0.25
        i=$((i + 1))
    done
    timed_out "$2" "no $3 frame in ${1##*/} within $4 s"
}
# as UID COMMAND...: run unprivileged (own uid and gid, no supplementary groups).
as() {
    u="$1"
    shift
    env HOME=/tmp "$SPECTRUM_FILES/setpriv" --reuid="$u" --regid="$u" --clear-groups "$@"
}
# sidecar NAME UID LOG: starts NAME's sidecar as UID; its pid in SIDECAR_PID, its socket /tmp/sc-NAME/cam.sock.
sidecar() {
    mkdir -p "/tmp/sc-$1"
    chown "$2:$2" "/tmp/sc-$1"
    rm -f "/tmp/sc-$1/cam.sock"
    # A simple command in the background (not a function), so $! is the sidecar itself: env and setpriv exec it.
    env HOME=/tmp "$SPECTRUM_FILES/setpriv" --reuid="$2" --regid="$2" --clear-groups "$BIN" serve \
        --socket-path "/tmp/sc-$1/cam.sock" --vm "vm-$1" --camera-service "$RUN/vms/vm-$1.sock" --menu "$MENU" \
        > "$OUT/$3" 2>&1 &
    SIDECAR_PID=$!
}
# start_service N: the service, logging to service-N.log; its pid in SVC. Returns once it serves its sockets.
start_service() {
    "$BIN" camera-service --camera "$LINK_ID" --vm "vm-a:$UID_A" --vm "vm-b:$UID_B" --runtime-dir "$RUN" \
        --state-dir "$STATE" > "$OUT/service-$1.log" 2>&1 &
    SVC=$!
    echo "$SVC" > "$OUT/service-$1.pid"
    wait_for "$OUT/service-$1.log" "operator socket" 60 "service-$1"
}
ctl() { "$BIN" ctl --operator-socket "$OPS" "$@"; }
# video_fds PID: the /dev/video* nodes PID holds open, one per line.
video_fds() { for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null | grep '^/dev/video' ; }

phase start
# udev is not running: the stable link as udev would make it (host-camera.sh made it too, after its replug).
mkdir -p /dev/v4l/by-id
ln -sf ../../video0 "$LINK_ID"
# The device nodes belong to root only, as on a host where the sidecars are not in the 'video' group.
chmod 0600 /dev/video*
ls -l /dev/video* "$LINK_ID" > "$OUT/nodes.txt" 2>&1

# 1. The service, both VMs allowed.
mkdir -p "$RUN" "$STATE"
start_service 1
ls -ln "$RUN" "$RUN/vms" > "$OUT/runtime-dir.txt" 2>&1
video_fds "$SVC" > "$OUT/fd-idle.txt"
ctl allow vm-a > "$OUT/allow-a.txt" 2>&1
echo $? > "$OUT/allow-a.rc"
ctl allow vm-b > "$OUT/allow-b.txt" 2>&1
echo $? > "$OUT/allow-b.rc"
video_fds "$SVC" > "$OUT/fd-before.txt"
phase service-up

# 2. The sidecars' uids cannot use the camera: no read or write access to the node or its link, and not to the other
#    VM's service socket either (their own works, below).
: > "$OUT/privilege.txt"
for u in $UID_A $UID_B; do
    for p in /dev/video0 "$LINK_ID"; do
        as "$u" test -r "$p"; echo "uid $u test -r $p: $?" >> "$OUT/privilege.txt"
        as "$u" test -w "$p"; echo "uid $u test -w $p: $?" >> "$OUT/privilege.txt"
    done
done
as $UID_A test -w "$RUN/vms/vm-a.sock"; echo "uid $UID_A test -w vm-a.sock: $?" >> "$OUT/privilege.txt"
as $UID_A test -w "$RUN/vms/vm-b.sock"; echo "uid $UID_A test -w vm-b.sock: $?" >> "$OUT/privilege.txt"
as $UID_A test -w "$OPS"; echo "uid $UID_A test -w operator.sock: $?" >> "$OUT/privilege.txt"

# 3. Every format the guest menu has, at a size vivid offers (the service gives it vivid's frames of the guest's own
#    fourcc), then a size vivid lacks (scaled by the service). One sidecar, one frontend, a session per stream; each
#    stream ends after 10 real frames in a row (the first ones are black while the service opens vivid).
phase formats
sidecar a $UID_A sidecar-formats.log
SA=$SIDECAR_PID
"$FE" --socket /tmp/sc-a/cam.sock --stream YUYV:640x360@15 --stream NV12:640x360@15 --stream YU12:640x360@15 \
    --stream YUYV:320x240@15 --until image:10 --duration 40 --frame-timeout 20 --connect-timeout 60 > "$OUT/formats.jsonl" 2> "$OUT/formats.err"
echo $? > "$OUT/formats.rc"
wait "$SA"
echo $? > "$OUT/sidecar-formats.rc"

# 4. Two VMs at once on one long stream each, while the script denies and allows vm-a, unplugs and replugs the camera
#    and kills the service; the frontends record marks (from their control FIFOs) between the frames.
phase continuity
rm -f /tmp/ctl-a /tmp/ctl-b
mkfifo /tmp/ctl-a /tmp/ctl-b
sidecar a $UID_A sidecar-a.log
SA=$SIDECAR_PID
sidecar b $UID_B sidecar-b.log
SB=$SIDECAR_PID
"$FE" --socket /tmp/sc-a/cam.sock --stream "$CONT" --control-fifo /tmp/ctl-a --frame-timeout 20 --connect-timeout 60 \
    --max-seconds 400 > "$OUT/a.jsonl" 2> "$OUT/a.err" &
FA=$!
"$FE" --socket /tmp/sc-b/cam.sock --stream "$CONT" --control-fifo /tmp/ctl-b --frame-timeout 20 --connect-timeout 60 \
    --max-seconds 400 > "$OUT/b.jsonl" 2> "$OUT/b.err" &
FB=$!
exec 4> /tmp/ctl-a 5> /tmp/ctl-b
# A mark is recorded by each frontend between two frames; wait until both have recorded it before acting, so a frame
# that shows the next step's effect can never be counted in the window before its mark.
mark() {
    echo "mark $1" >&4; echo "mark $1" >&5; echo "$1 $(uptime_s)" >> "$OUT/marks.txt"
    i=0
    while [ $i -lt 100 ]; do
        grep -q "\"label\":\"$1\"" "$OUT/a.jsonl" && grep -q "\"label\":\"$1\"" "$OUT/b.jsonl" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    timed_out "$1" "mark not recorded by both frontends within 10 s"
}
wait_class "$OUT/a.jsonl" start image 90
wait_class "$OUT/b.jsonl" start image 60
sleep 1
mark both
video_fds "$SVC" > "$OUT/fd-during.txt"
video_fds "$SA" > "$OUT/sidecar-a-fds.txt"
video_fds "$SB" > "$OUT/sidecar-b-fds.txt"
grep -E '^(Uid|Gid|Groups):' "/proc/$SA/status" > "$OUT/sidecar-a-status.txt"
grep -E '^(Uid|Gid|Groups):' "/proc/$SB/status" > "$OUT/sidecar-b-status.txt"
sleep 3

phase deny
mark deny-a
ctl deny vm-a > "$OUT/deny-a.txt" 2>&1
echo $? > "$OUT/deny-a.rc"
mark denied-a
wait_class "$OUT/a.jsonl" denied-a black 30
sleep 3
mark allow-a
ctl allow vm-a > "$OUT/allow-a-again.txt" 2>&1
echo $? > "$OUT/allow-a-again.rc"
mark allowed-a
wait_class "$OUT/a.jsonl" allowed-a image 40
sleep 2

phase unplug
# vivid's Disconnect control: every ioctl then answers ENODEV; vivid reconnects when its last open file is closed, so
# this shell holds fd 3 across the disconnect (the service's re-opens fail meanwhile) and closes it to replug.
exec 3< /dev/video0
mark unplug
v4l2-ctl -d /dev/video0 --set-ctrl disconnect=1 > "$OUT/disconnect.txt" 2>&1
echo $? > "$OUT/disconnect.rc"
mark unplugged
wait_class "$OUT/a.jsonl" unplugged black 30
wait_class "$OUT/b.jsonl" unplugged black 30
sleep 3
mark replug
exec 3<&-
mark replugged
wait_class "$OUT/a.jsonl" replugged image 60
wait_class "$OUT/b.jsonl" replugged image 60
sleep 2
dmesg | grep -iE "vivid.*(disconnect|reconnect)" > "$OUT/vivid-dmesg.txt"

phase kill
mark kill
kill -9 "$SVC"
mark killed
wait "$SVC" 2>/dev/null
wait_class "$OUT/a.jsonl" killed black 30
wait_class "$OUT/b.jsonl" killed black 30
sleep 2
mark restart
start_service 2
mark restarted
wait_class "$OUT/a.jsonl" restarted image 90
wait_class "$OUT/b.jsonl" restarted image 60
sleep 3
mark end
echo stop >&4
echo stop >&5
exec 4>&- 5>&-
wait "$FA"
echo $? > "$OUT/a.rc"
wait "$FB"
echo $? > "$OUT/b.rc"
wait "$SA"
echo $? > "$OUT/sidecar-a.rc"
wait "$SB"
echo $? > "$OUT/sidecar-b.rc"

# 5. Nobody streams: the camera is closed again, so vivid can even be unloaded under the running service; a new vivid
#    (a replug) is opened by the by-id link at the next stream.
phase reload
sleep 1
video_fds "$SVC" > "$OUT/fd-after.txt"
rmmod vivid > "$OUT/rmmod.txt" 2>&1
echo $? > "$OUT/rmmod.rc"
modprobe vivid n_devs=1 > "$OUT/modprobe.txt" 2>&1
ln -sf ../../video0 "$LINK_ID"
chmod 0600 /dev/video*
sidecar a $UID_A sidecar-reload.log
SA=$SIDECAR_PID
"$FE" --socket /tmp/sc-a/cam.sock --stream YUYV:640x360@15 --until image:10 --duration 40 --frame-timeout 20 --connect-timeout 60 \
    > "$OUT/reload.jsonl" 2> "$OUT/reload.err"
echo $? > "$OUT/reload.rc"
wait "$SA"
echo $? > "$OUT/sidecar-reload.rc"

phase stop
kill -TERM "$SVC"
wait "$SVC"
echo $? > "$OUT/service.rc"
cp "$STATE/audit.log" "$STATE/policy.json" "$OUT/" 2>/dev/null
phase finished
echo done > "$OUT/finished"
exit 0
