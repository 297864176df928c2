#!/bin/sh
# The hostile-device phase, run inside the guest by the initramfs /init (busybox sh); tests/e2e/hostile.sh is the
# host side. The sidecar is spectrum-camera-hostile-device: the real device, with answers and events corrupted on
# purpose. For each line of /spectrum/files/hostile-faults.txt ("N fault magic label", in order; "none" runs the
# honest device as a baseline, and config-caps, after which the driver refuses to bind, comes last) the guest selects the fault
# in-band (VIDIOC_S_INPUT magic, which the device always answers correctly), runs clients under a watchdog, checks
# that none is left hanging, unloads the module and reloads it (the reload resets the device to no fault).
# Everything lands in $RESULTS/hostile/<label>/ for the host to judge: clients.txt ("name rc=N state=exited|hung|
# unkillable-S secs=N"), each client's log, dmesg.txt (from the selection to after the rmmod), rmmod, insmod,
# dstate.txt. The script fails only on infrastructure problems.
set -u
. "$SPECTRUM_FILES/e2e-lib.sh"
FAULTS=/spectrum/files/hostile-faults.txt
W=320 H=240

say() { echo "HOSTILE: $*"; }

# run_client NAME LIMIT_SECONDS CMD...: runs CMD in the background under a watchdog. A client still running at the
# limit is "hung": it gets SIGKILL; if it is still there 3 s later (uninterruptible sleep in the driver) it is
# "unkillable" and left behind. Appends one line to $D/clients.txt.
run_client() {
    name=$1 limit=$2
    shift 2
    t0=$(uptime_cs)
    "$@" < /dev/null > "$D/$name.log" 2>&1 &
    pid=$!
    state=exited ticks=0
    while kill -0 $pid 2>/dev/null; do
        st=$(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null)
        [ "$st" = Z ] && break
        if [ $ticks -ge $((limit * 5)) ]; then
            state=hung
            awk '{ print "at the limit: " $2 " state " $3 }' /proc/$pid/stat >> "$D/$name.log" 2>/dev/null
            cat /proc/$pid/stack >> "$D/$name.log" 2>/dev/null
            kill -KILL $pid 2>/dev/null
            break
        fi
        sleep 0.2
        ticks=$((ticks + 1))
    done
    rc=-1
    if [ $state = hung ]; then
        sleep 3
        st=$(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null)
        if [ -n "$st" ] && [ "$st" != Z ]; then state=unkillable-$st; else wait $pid; rc=$?; fi
    else
        wait $pid
        rc=$?
    fi
    t1=$(uptime_cs)
    echo "$name rc=$rc state=$state secs=$(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 ))" >> "$D/clients.txt"
    say "  $name: exit $rc, $state, $(( (t1 - t0) / 100 )) s"
}

# Our clients in uninterruptible sleep right now (none may be).
check_dstate() {
    : > "$D/dstate.txt"
    for s in /proc/[0-9]*/stat; do
        awk '$3 == "D" && ($2 ~ /v4l2/ || $2 ~ /sh\)/) { print }' "$s" 2>/dev/null >> "$D/dstate.txt"
    done
}

reload() {
    rmmod $MOD > "$D/rmmod.log" 2>&1
    echo $? > "$D/rmmod"
    lsmod > "$D/lsmod-after-rmmod.txt" 2>&1
    dmesg -c > "$D/dmesg.txt" 2>&1
    insmod "$KO" > "$D/insmod.log" 2>&1
    echo $? > "$D/insmod"
    sleep 1
}

clients() {
    run_client all 60 v4l2-ctl -d "$DEV" --all
    run_client compliance 180 v4l2-compliance -d "$DEV" -s 5
    raw=/dev/null
    [ "$fault" = none ] && raw="$D/capture-mmap.raw"   # the honest device's frames are verified on the host
    # --verbose: one "cap dqbuf: ..." line per buffer, with its flags (error).
    run_client capture-mmap 60 v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=YUYV \
        --stream-mmap=4 --stream-count=30 --stream-to="$raw" --verbose
    run_client capture-user 60 v4l2-ctl -d "$DEV" --set-fmt-video=width=$W,height=$H,pixelformat=NV12 \
        --stream-user=4 --stream-count=10 --stream-to=/dev/null --verbose
}

DEV=$(find_device) || { say "no $MOD video device at boot"; dmesg | tail -40; exit 1; }
say "device $DEV; kernel $(uname -r)"
dmesg -c > "$R/dmesg-boot.txt"
mkdir -p "$R/hostile"
# First, killable waits and the broken state on a stalled device (config-caps, the last fault, leaves no device
# behind); it ends with a reload, which resets the device. Results in $R/stalled-device/.
[ -f /spectrum/files/stalled-device.sh ] && . /spectrum/files/stalled-device.sh

while read -r num fault magic label; do
    [ -n "$label" ] || continue
    D=$R/hostile/$label
    mkdir -p "$D"
    : > "$D/clients.txt"
    t0=$(uptime_cs)
    DEV=$(wait_device) || { say "$fault: no device before the fault"; echo "no device" > "$D/setup-failed"; continue; }
    say "fault $num $fault"
    if [ "$fault" = bad-session ]; then
        exec 3< "$DEV"   # an open session whose id the device hands out again
    fi
    v4l2-ctl -d "$DEV" --set-input="$magic" > "$D/select.log" 2>&1
    grep -q "Video input set to" "$D/select.log" && echo ok > "$D/selected" || echo failed > "$D/selected"
    case $fault in
    config-card)
        # The config space is read at probe: reload, then the device is reset to no fault.
        rmmod $MOD; insmod "$KO"
        DEV=$(wait_device) || DEV=""
        if [ -n "$DEV" ]; then
            v4l2-ctl -d "$DEV" --info > "$D/info.txt" 2>&1
            od -An -c "/sys/class/video4linux/${DEV#/dev/}/name" > "$D/sysfs-name.txt" 2>&1
            wc -c < "/sys/class/video4linux/${DEV#/dev/}/name" > "$D/sysfs-name-bytes" 2>&1
            clients
        else
            echo "no device" > "$D/no-device"
        fi
        ;;
    config-caps)
        rmmod $MOD; insmod "$KO"; sleep 1
        if find_device > /dev/null; then echo bound > "$D/bound"; else echo refused > "$D/bound"; fi
        ;;
    bad-session)
        for i in 1 2 3 4 5 6; do run_client open-$i 30 v4l2-ctl -d "$DEV" --info; done
        clients
        exec 3<&-
        ;;
    *)
        clients
        ;;
    esac
    sleep 0.5
    check_dstate
    [ -e /proc/modules ] && awk -v m=$MOD '$1 == m { print $3 }' /proc/modules > "$D/refcount-before-rmmod"
    reload
    t1=$(uptime_cs)
    echo "$(( (t1 - t0) / 100 ))" > "$D/seconds"
    say "$fault: rmmod $(cat "$D/rmmod"), insmod $(cat "$D/insmod"), $(( (t1 - t0) / 100 )) s"
done < "$FAULTS"

lsmod > "$R/lsmod-end.txt"
exit 0
