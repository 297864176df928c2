#!/usr/bin/env python3
"""Judges the two-camera part of the host-camera end-to-end test (tests/e2e/guest/two-cameras.sh recorded it in
OUT/guest/results/two-cameras/). Appends one check per line item to OUT/results.json ({"checks": [...]}, written before
by tests/e2e/host-camera.sh) and prints PASS/FAIL lines; tests/e2e/judge-camera-service.py, run after it, prints the
count over every check in the file. Exits 1 if any of its checks failed.

Two vivid instances are the two cameras: cam-a shows 75% colour bars (mean luma about 100 over the frontend's
samples), cam-b 100% white (about 235), so a frame's mean luma tells its camera.

Usage: judge-two-cameras.py OUT KERNEL
"""
import os
import sys

import judge
from judge import Judge, json_lines, load_json, window

out, kernel = sys.argv[1], sys.argv[2]
res = os.path.join(out, "guest", "results", "two-cameras")
j = Judge(f"two-cameras {kernel}: ")
check = j.check
WHITE = 180        # mean luma above: cam-b's white; below: cam-a's bars (vivid's on-screen text moves both a little)
LATE_FRAMES = 3    # frames a change may take to show (buffers the sidecar filled before it, in flight)


def read(name, default=""):
    return judge.read(os.path.join(res, name), default)


def records(name):
    return json_lines(read(name))


def load(name):
    return load_json(os.path.join(res, name))


def camera(frame):
    """'a' (bars), 'b' (white), 'B' (black) or '?' for one frame."""
    if frame.get("class") == "black":
        return "B"
    if frame.get("class") != "image":
        return "?"
    return "b" if frame.get("luma", 0) > WHITE else "a"


def pattern(fs):
    """Run-length text of the frames' cameras: 'a12 b40'."""
    runs = []
    for c in (camera(f) for f in fs):
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    return " ".join(f"{c}{n}" for c, n in runs)


def rising(fs):
    return all(b["sequence"] > a["sequence"] for a, b in zip(fs, fs[1:]))


a, b = records("a.jsonl"), records("b.jsonl")
check("the guest script ran to the end (two vivid cameras, the service, two sidecars and frontends)",
      os.path.exists(os.path.join(res, "finished")) and read("modprobe.rc").strip() == "0"
      and read("test-pattern.rc").strip() == "0", f"modprobe {read('modprobe.rc').strip()}, "
      f"test_pattern {read('test-pattern.rc').strip()} {read('test-pattern.txt').strip()[:80]}")

# 1. Each VM on its own camera.
wa, wb = window(a, "both", "move"), window(b, "both", "move")
check("vm-a (default: the first camera) gets cam-a's bars and vm-b (assigned cam-b) cam-b's white, at the same time: every frame of >= 20 each",
      len(wa) >= 20 and len(wb) >= 20 and set(map(camera, wa)) == {"a"} and set(map(camera, wb)) == {"b"},
      f"vm-a {pattern(wa)}; vm-b {pattern(wb)}")
cams = {c["name"]: c for c in (load("cameras-both.json") or {}).get("cameras", [])}
check("'ctl cameras' shows each camera with its device, its VM and that VM receiving",
      cams.get("cam-a", {}).get("device") == "/dev/video0" and cams.get("cam-b", {}).get("device") == "/dev/video1"
      and cams.get("cam-a", {}).get("vms") == ["vm-a"] and cams.get("cam-b", {}).get("vms") == ["vm-b"]
      and cams.get("cam-a", {}).get("receiving_vms") == ["vm-a"] and cams.get("cam-b", {}).get("receiving_vms") == ["vm-b"]
      and cams.get("cam-a", {}).get("state") == "streaming" and cams.get("cam-b", {}).get("state") == "streaming",
      read("cameras-both.json").strip()[:300])
status = {v["vm"]: v for v in (load("status-both.json") or {}).get("vms", [])}
check("'ctl status' shows which camera each VM has",
      status.get("vm-a", {}).get("camera") == "cam-a" and status.get("vm-b", {}).get("camera") == "cam-b",
      f"vm-a {status.get('vm-a', {}).get('camera')}, vm-b {status.get('vm-b', {}).get('camera')}")
fds = read("fd-both.txt").split()
check("the service holds both cameras open while VMs stream from each, and none before",
      sorted(set(fds)) == ["/dev/video0", "/dev/video1"] and read("fd-idle.txt").strip() == "", f"idle {read('fd-idle.txt').split()}, streaming {fds}")

# 2. vm-a moved to cam-b and back while it streams: no black frame, the sequence goes on, the picture changes once.
for start, end, before, after, what in [("move", "return", "a", "b", "cam-a to cam-b"), ("return", "unplug", "b", "a", "cam-b back to cam-a")]:
    w = window(a, start, end)
    cs = "".join(map(camera, w))
    first_after = cs.find(after)
    ok = (len(w) >= 20 and "B" not in cs and "?" not in cs and rising(w) and first_after >= 0
          and set(cs[first_after:]) == {after} and set(cs[:first_after]) <= {before})
    check(f"vm-a moved from {what} mid-stream: 0 black frames in >= 20, sequence rising, the other picture on every frame after the first",
          ok and read("assign-a-b.rc").strip() == "0" and read("assign-a-a.rc").strip() == "0",
          f"{pattern(w)}; sequence {w[0]['sequence'] if w else '-'}..{w[-1]['sequence'] if w else '-'}")
wb_move = window(b, "move", "unplug")
check("vm-b stays on cam-b while vm-a moves in and out: every frame of >= 20 white, sequence rising",
      len(wb_move) >= 20 and set(map(camera, wb_move)) == {"b"} and rising(wb_move), pattern(wb_move))
moved = {c["name"]: c for c in (load("cameras-moved.json") or {}).get("cameras", [])}
check("with vm-a moved, cam-a is closed (no VM streams from it) and cam-b feeds both",
      moved.get("cam-a", {}).get("state") == "stopped" and moved.get("cam-b", {}).get("receiving_vms") == ["vm-a", "vm-b"]
      and read("fd-moved.txt").split() == ["/dev/video1"], f"{read('fd-moved.txt').split()}; {read('cameras-moved.json').strip()[:200]}")

# 3. cam-b unplugged: only its VM turns black; back when replugged.
ua, ub = window(a, "unplugged", "replug"), window(b, "unplugged", "replug")
check(f"cam-b unplugged (vivid Disconnect): vm-b black from frame {LATE_FRAMES} on and streaming (> {LATE_FRAMES + 5} frames)",
      read("disconnect.rc").strip() == "0" and len(ub) > LATE_FRAMES + 5 and set(map(camera, ub[LATE_FRAMES:])) == {"B"},
      pattern(ub))
check("cam-b unplugged: vm-a keeps cam-a's frames throughout: every frame of >= 20", len(ua) >= 20 and set(map(camera, ua)) == {"a"}, pattern(ua))
st = {v["vm"]: v for v in (load("status-unplugged.json") or {}).get("vms", [])}
check("cam-b unplugged: 'ctl status' shows vm-b's camera unavailable and vm-a's streaming",
      st.get("vm-b", {}).get("camera_state") == "unavailable" and st.get("vm-a", {}).get("camera_state") == "streaming",
      f"vm-a {st.get('vm-a', {}).get('camera_state')}, vm-b {st.get('vm-b', {}).get('camera_state')}")
rb = window(b, "replugged", "end")
steady = rb[-5:]
check("cam-b replugged: vm-b's last 5 frames are cam-b's white again", len(steady) == 5 and set(map(camera, steady)) == {"b"}, pattern(rb))

# 4. The streams never stopped; the cameras closed at the end.
for name, recs in (("vm-a", a), ("vm-b", b)):
    fs = [r for r in recs if r.get("event") == "frame"]
    check(f"{name}'s stream never stopped: > 100 frames, sequence strictly rising, frontend exit 0",
          len(fs) > 100 and rising(fs) and read(f"{name[-1]}.rc").strip() == "0", f"{len(fs)} frames")
check("the service closed both cameras once nobody streams, and exits 0 on SIGTERM",
      read("fd-after.txt").strip() == "" and read("service.rc").strip() == "0", f"fds {read('fd-after.txt').split()}, exit {read('service.rc').strip()}")
audit = [e["action"] for e in (load("audit.json") or {}).get("entries", [])]
check("the audit log records the 3 assignments", audit.count("assign") == 3, f"{audit.count('assign')} assign entries")

# The camera-service judge, run after this one, prints the count over every check in the file.
j.write(os.path.join(out, "results.json"), append=True)
sys.exit(1 if j.failed else 0)
