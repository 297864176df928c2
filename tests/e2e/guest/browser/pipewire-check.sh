#!/bin/sh
# PipeWire in the browser guest: run by browser-session.sh as the user 'caller' inside dbus-run-session (its own
# session bus). Starts pipewire and wireplumber, waits until WirePlumber's V4L2 monitor has published a Video/Source
# node for each Spectrum Camera device, saves pw-dump, and captures FRAMES frames of 640x480 YUY2 at 30 fps from the
# node of the test-pattern card with 'gst-launch-1.0 pipewiresrc' (a PipeWire client, as a portal or Flatpak app
# is). Usage: pipewire-check.sh OUTDIR CARD FRAMES CARD...   (the later CARDs: every card that must appear)
set -u
OUT=$1 CARD=$2 FRAMES=$3
shift 3
say() { echo "pipewire-check: $*"; }

# The guest has no Bluetooth and no logind: WirePlumber's Bluetooth part would load its logind module, which fails
# without systemd-logind and takes WirePlumber down with it ("disconnected from pipewire"), so it is left out.
mkdir -p "$HOME/.config/wireplumber/bluetooth.lua.d"
echo 'bluez_monitor.enabled = false' > "$HOME/.config/wireplumber/bluetooth.lua.d/80-no-bluetooth.lua"

pipewire > "$OUT/pipewire-daemon.log" 2>&1 &
PW=$!
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/pipewire-0" ] && break; sleep 0.2; done
wireplumber > "$OUT/wireplumber.log" 2>&1 &
WP=$!

# The nodes of video sources, as "id<TAB>node.name<TAB>node.description<TAB>node.nick", from pw-dump.
sources() {
    python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    p = (o.get("info") or {}).get("props") or {}
    if o.get("type", "").endswith(":Node") and p.get("media.class") == "Video/Source":
        print("\t".join(str(x) for x in (o["id"], p.get("node.name", ""), p.get("node.description", ""), p.get("node.nick", ""))))' "$1"
}

start=$(date +%s)
while :; do
    pw-dump > "$OUT/pw-dump.json" 2> "$OUT/pw-dump.err"
    sources "$OUT/pw-dump.json" > "$OUT/video-sources.txt" 2>> "$OUT/pw-dump.err"
    missing=0
    for c in "$@"; do grep -qF "$c" "$OUT/video-sources.txt" || missing=$((missing + 1)); done
    [ $missing = 0 ] && break
    [ $(( $(date +%s) - start )) -ge 60 ] && { say "after 60 s, $missing of the cards have no Video/Source node"; break; }
    sleep 1
done
echo "$(( $(date +%s) - start ))" > "$OUT/nodes-seconds"
say "video sources after $(cat "$OUT/nodes-seconds") s:"
cat "$OUT/video-sources.txt"

# The node whose description or nick is the card (WirePlumber names V4L2 nodes after the device's card).
node=$(awk -F '\t' -v c="$CARD" '$3 == c || $4 == c || index($3, c) == 1 { print $2; exit }' "$OUT/video-sources.txt")
echo "$node" > "$OUT/capture-node.txt"
if [ -n "$node" ]; then
    say "capturing $FRAMES frames from $node"
    gst-launch-1.0 -e pipewiresrc target-object="$node" num-buffers="$FRAMES" \
        ! video/x-raw,format=YUY2,width=640,height=480,framerate=30/1 \
        ! filesink location="$OUT/pipewire-640x480.yuyv" > "$OUT/gst-launch.log" 2>&1
    echo $? > "$OUT/gst-launch.exit"
    say "gst-launch-1.0 exit $(cat "$OUT/gst-launch.exit"), $(wc -c < "$OUT/pipewire-640x480.yuyv" 2> /dev/null || echo 0) bytes"
fi
kill $WP $PW 2> /dev/null
wait
exit 0
