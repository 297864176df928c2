#!/bin/sh
# The browser phase, second part: runs as root in the Debian 12 browser root (entered by tests/e2e/guest/browser.sh).
# Starts udev and the page server, runs each browser headless as the unprivileged user 'caller' in its own session
# bus against the test page, then PipeWire and WirePlumber in a session bus with a PipeWire client
# (gst-launch-1.0 pipewiresrc). Everything lands in $RESULTS; the host judges it (tests/e2e/judge_browser.py).
# Console lines "BROWSER-E2E: <event> [k=N]... t=<CLOCK_REALTIME ns>" tell the host where the guest is.
# Settings (/spectrum/browser.conf): BROWSERS, PATTERN_CARD, BLACK_CARD, SERVICE_CARD, FRAMES and LIMIT (frames the
# page samples per steady capture, within at most LIMIT seconds),
# BROWSER_TIMEOUT (seconds per browser), PW_FRAMES (frames pipewiresrc captures).
set -u
R=${RESULTS:-/results}
S=/spectrum/browser
BROWSERS="chromium firefox" FRAMES=10 LIMIT=30 BROWSER_TIMEOUT=300 PW_FRAMES=30
. /spectrum/browser.conf
CALLER_UID=1000
export XDG_RUNTIME_DIR=/run/user/$CALLER_UID

# mark EVENT [key=N ...]: "BROWSER-E2E: EVENT key=N t=<CLOCK_REALTIME ns>" to the console (tests/e2e/guest_console.py
# reads it on the host) and markers.txt. Not the shared console_mark: these marks are on the clock the test page
# stamps its frames with (Date.now()), as the page server's are.
mark() {
    line="BROWSER-E2E: $* t=$(date +%s%N)"
    echo "$line" > /dev/console
    echo "$line" >> "$R/markers.txt"
}
# The prefix that runs a command as the caller. Used as "setsid $AS_CALLER CMD &": dash execs a backgrounded simple
# command in the child it forks, and setsid then makes that child a group leader, so $! is the group to end.
AS_CALLER="setpriv --reuid=$CALLER_UID --regid=$CALLER_UID --init-groups env HOME=/tmp/caller \
XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR LANG=C.UTF-8 PATH=/usr/bin:/bin"
# Ends a process group started with setsid, politely first (procps kill and pgrep: dash's kill takes no group).
end_group() {
    /usr/bin/kill -s TERM -- "-$1" 2> /dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do pgrep -g "$1" > /dev/null || return 0; sleep 0.5; done
    /usr/bin/kill -s KILL -- "-$1" 2> /dev/null
}

mark session-start
uname -r > "$R/guest-kernel.txt"
for p in chromium firefox-esr pipewire wireplumber gstreamer1.0-pipewire; do
    dpkg-query -W -f='${Package} ${Version}\n' "$p"
done > "$R/versions.txt"

# A system bus, as on a desktop (the browsers ask it for power and login state).
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile > "$R/dbus-system.log" 2>&1
# udev gives the video nodes to group video (Debian's rules) and PipeWire's V4L2 monitor reads its database. udevadm
# takes this root, whose PID 1 is the initramfs' busybox init, for a chroot and would ignore the requests otherwise.
/lib/systemd/systemd-udevd --daemon > "$R/udevd.log" 2>&1
SYSTEMD_IGNORE_CHROOT=1 udevadm trigger --action=add --subsystem-match=video4linux
SYSTEMD_IGNORE_CHROOT=1 udevadm settle --timeout=60
for n in /sys/class/video4linux/video*; do
    echo "/dev/${n##*/} $(cat "$n/name")"
done > "$R/video-devices.txt"
ls -l /dev/video* > "$R/video-nodes.txt" 2>&1
cat "$R/video-devices.txt"

mkdir -p "$XDG_RUNTIME_DIR" /tmp/caller
chown $CALLER_UID:$CALLER_UID "$XDG_RUNTIME_DIR" /tmp/caller
chmod 700 "$XDG_RUNTIME_DIR"

python3 "$S/page_server.py" --dir "$S" --results "$R" --port 8080 > "$R/page-server.err" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q server-ready "$R/markers.txt" 2> /dev/null && break; sleep 0.2; done

url() {
    python3 -c 'import sys, urllib.parse as u
print("http://127.0.0.1:8080/camera-test.html?" + u.urlencode({"browser": sys.argv[1], "pattern": sys.argv[2],
      "black": sys.argv[3], "service": sys.argv[4], "frames": sys.argv[5], "limit": sys.argv[6]}))' \
        "$1" "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD" "$FRAMES" "$LIMIT"
}

write_firefox_profile() {
    mkdir -p "$1"
    # Camera permission for the page without a prompt, the real devices (never Firefox's fake ones), V4L2 directly
    # (PipeWire is checked separately below), full timer precision for the frame times, and nothing that reaches for
    # a network the guest does not have.
    cat > "$1/user.js" <<'PREFS'
user_pref("media.navigator.permission.disabled", true);
user_pref("media.navigator.streams.fake", false);
user_pref("media.webrtc.camera.allow-pipewire", false);
user_pref("privacy.reduceTimerPrecision", false);
user_pref("media.autoplay.default", 0);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.normandy.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
PREFS
}

run_browser() {
    b=$1
    u=$(url "$b")
    case $b in
    chromium)
        # --use-fake-ui-for-media-stream accepts the permission prompt; the devices are the real V4L2 ones.
        set -- chromium --headless=new --no-first-run --no-default-browser-check --user-data-dir=/tmp/caller/chromium \
            --use-fake-ui-for-media-stream --autoplay-policy=no-user-gesture-required --disable-gpu \
            --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
            --disable-background-timer-throttling --disable-renderer-backgrounding \
            --disable-backgrounding-occluded-windows --enable-logging=stderr --v=0 "$u" ;;
    firefox)
        write_firefox_profile /tmp/caller/firefox
        chown -R $CALLER_UID:$CALLER_UID /tmp/caller/firefox
        set -- firefox-esr --headless --no-remote --profile /tmp/caller/firefox "$u" ;;
    *) echo "unknown browser $b"; return 1 ;;
    esac
    mark "$b-start"
    start=$(date +%s)
    setsid $AS_CALLER dbus-run-session -- "$@" > "$R/$b.log" 2>&1 &
    pid=$!
    while kill -0 $pid 2> /dev/null && [ ! -s "$R/page-$b.json" ] && [ $(( $(date +%s) - start )) -lt "$BROWSER_TIMEOUT" ]; do
        sleep 1
    done
    if [ -s "$R/page-$b.json" ]; then outcome=report; elif kill -0 $pid 2> /dev/null; then outcome=timeout; else outcome=exited; fi
    end_group $pid
    wait $pid 2> /dev/null
    echo "$outcome $(( $(date +%s) - start ))" > "$R/$b.outcome"
    mark "$b-end" seconds=$(( $(date +%s) - start ))
}

for b in $BROWSERS; do run_browser "$b"; done
kill $SERVER 2> /dev/null

# PipeWire: a session bus, pipewire and wireplumber as the caller; WirePlumber's V4L2 monitor publishes each camera
# as a Video/Source node; pipewiresrc captures from the test-pattern camera's node.
mark pipewire-start
mkdir -p "$R/pipewire"
chown $CALLER_UID:$CALLER_UID "$R/pipewire"
setsid $AS_CALLER dbus-run-session -- sh "$S/pipewire-check.sh" "$R/pipewire" "$PATTERN_CARD" "$PW_FRAMES" \
    "$PATTERN_CARD" "$BLACK_CARD" "$SERVICE_CARD" > "$R/pipewire.log" 2>&1 &
pid=$!
start=$(date +%s)
while kill -0 $pid 2> /dev/null && [ $(( $(date +%s) - start )) -lt 180 ]; do sleep 1; done
if kill -0 $pid 2> /dev/null; then echo timeout; else echo finished; fi > "$R/pipewire/outcome"
end_group $pid
wait $pid 2> /dev/null
mark pipewire-end seconds=$(( $(date +%s) - start ))

SYSTEMD_IGNORE_CHROOT=1 udevadm control --exit 2> /dev/null
/usr/bin/kill -s TERM $(pgrep -x dbus-daemon) 2> /dev/null
mark session-end
exit 0
