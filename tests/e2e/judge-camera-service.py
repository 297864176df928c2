#!/usr/bin/env python3
"""Judges the camera-service part of the host-camera end-to-end test (tests/e2e/guest/camera-service.sh recorded it in
OUT/guest/results/camera-service/). Appends one check per line item to OUT/results.json ({"checks": [...]}, written
before by tests/e2e/judge_host_camera.py), prints PASS/FAIL lines and, last, a count over every check in the file.
Exits 1 if any check in the file failed.

Usage: judge-camera-service.py OUT KERNEL
"""
import json
import os
import re
import sys

import judge
from judge import Judge, becomes, depends_on, describe, json_lines, timeouts_by_label, window

out, kernel = sys.argv[1], sys.argv[2]
res = os.path.join(out, "guest", "results", "camera-service")
j = Judge(f"camera-service {kernel}: ")
check = j.check

# Bounds for a 2-vCPU TCG guest running vivid, the service, two sidecars and two frontends at 15 fps. Measured on a
# host with a load average of 10 (other jobs): within the window judged, gaps of up to 10 sequence numbers and 1.1 s
# between arrivals, while a .NET process (ctl, the restarted service) starts in the guest.
MAX_SEQUENCE_GAP = 20       # the sidecar's own sequence: frames it could not deliver (no buffer queued in time)
MAX_ARRIVAL_GAP_MS = 2500   # no stall: 15 fps is 67 ms a frame; a stall would be the frontend's 20 s timeout
MIN_FPS = 7.5               # half the requested 15 fps, over the whole window
LATE_FRAMES = 3             # frames a change may take to show (buffers filled before it, in flight)
MIN_WINDOW = 10             # frames a window between two marks must hold to judge anything (about 0.7 s at 15 fps)
UNTIL_IMAGE = 10            # the format streams end after this many image frames in a row (--until image:10)


def read(name, default=""):
    return judge.read(os.path.join(res, name), default)


def records(name):
    return json_lines(read(name))


def frames(recs, stream=None):
    return [r for r in recs if r.get("event") == "frame" and (stream is None or r.get("stream") == stream)]


def classes(fs):
    return [f["class"] for f in fs]


def summary(recs, stream=0):
    return next((r for r in recs if r.get("event") == "summary" and r.get("stream") == stream), None)


def done(recs):
    return next((r for r in recs if r.get("event") == "done"), None)


# Waits and marks in the guest that ran out of time, by the label of the mark they follow ("start" before the first,
# "service-N" for a service start): each fails the checks whose windows that label bounds.
timeouts = timeouts_by_label(read("wait-timeouts.txt"))


status = read("../exit-code", "missing").strip()
check("the camera-service guest script ran to the end", os.path.exists(os.path.join(res, "finished")),
      f"guest exit {status}; timeouts: {read('wait-timeouts.txt').strip().replace(chr(10), '; ') or 'none'}")

# The service and its sockets.
ls = read("runtime-dir.txt")
sock = {m.group(2): m.group(1) for m in re.finditer(r"^(s\S+\s+\d+\s+\d+\s+\d+)\s.*?(\S+\.sock)$", ls, re.M)}
ok = (re.match(r"srw-------\s+\d+\s+1001\s+", sock.get("vm-a.sock", "")) is not None
      and re.match(r"srw-------\s+\d+\s+1002\s+", sock.get("vm-b.sock", "")) is not None
      and "operator.sock" in sock and "operator socket" in read("service-1.log"))
check("service: serving within 60 s, one socket per VM, 0600 and owned by the VM's uid (vm-a 1001, vm-b 1002), plus "
      "operator.sock", ok,
      "; ".join(f"{k}: {' '.join(v.split())}" for k, v in sorted(sock.items())) or ls.strip()[:200],
      timeouts=depends_on(timeouts, "service-1"))
check("ctl allow vm-a and allow vm-b exit 0", read("allow-a.rc").strip() == "0" and read("allow-b.rc").strip() == "0",
      (read("allow-a.txt").strip() + " | " + read("allow-b.txt").strip())[:200])

# Privilege separation.
priv = dict(re.findall(r"^uid (\d+ test -[rw] \S+): (\d+)$", read("privilege.txt"), re.M))
dev = {k: v for k, v in priv.items() if "/dev/" in k}
check("the sidecars' uids (1001, 1002) can neither read nor write /dev/video0 or its by-id link",
      len(dev) == 8 and all(v != "0" for v in dev.values()), ", ".join(f"{k}: {v}" for k, v in dev.items()) or "no data")
check("vm-a's uid reaches its own service socket, but not vm-b's or the operator socket",
      priv.get("1001 test -w vm-a.sock") == "0" and priv.get("1001 test -w vm-b.sock") == "1"
      and priv.get("1001 test -w operator.sock") == "1",
      ", ".join(f"{k}: {v}" for k, v in priv.items() if "sock" in k))
status_a, status_b = read("sidecar-a-status.txt"), read("sidecar-b-status.txt")


def uid_ok(text, uid):
    u = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
    g = re.search(r"^Groups:\s*(.*)$", text, re.M)
    return u is not None and set(u.groups()) == {str(uid)} and g is not None and g.group(1).strip() == ""


check("the sidecars ran as their uids (no groups) and held no /dev/video* open while streaming real frames",
      uid_ok(status_a, 1001) and uid_ok(status_b, 1002) and os.path.exists(os.path.join(res, "sidecar-a-fds.txt"))
      and read("sidecar-a-fds.txt").strip() == "" and read("sidecar-b-fds.txt").strip() == "",
      " ".join(status_a.split()) + " / " + " ".join(status_b.split())
      + f"; video fds: a [{read('sidecar-a-fds.txt').strip()}] b [{read('sidecar-b-fds.txt').strip()}]")

# The camera is open only while an allowed VM streams.
check("camera closed while no VM streams (service up, both VMs allowed): the service holds no /dev/video* fd",
      os.path.exists(os.path.join(res, "fd-before.txt")) and read("fd-idle.txt").strip() == ""
      and read("fd-before.txt").strip() == "", f"idle [{read('fd-idle.txt').strip()}], allowed [{read('fd-before.txt').strip()}]")
during = read("fd-during.txt").split()
check("camera open while VMs stream: the service holds exactly one fd on /dev/video0 for both VMs",
      during == ["/dev/video0"], f"[{' '.join(during)}]")

# Formats and scaling (one sidecar, one frontend, four sessions).
fm = records("formats.jsonl")
vivid_sizes = {}
cam = ((judge.load_json(os.path.join(out, "guest", "results", "host-camera", "cameras.json")) or {}).get("cameras")
       or [{}])[0]
vivid_sizes = {fmt["fourcc"]: {(s["width"], s["height"]) for s in fmt["sizes"]} for fmt in cam.get("formats", [])}
for i, (fourcc, w, h, what) in enumerate([("YUYV", 640, 360, "a vivid size: vivid's YUYV frames"),
                                          ("NV12", 640, 360, "a vivid size: vivid's NV12 frames"),
                                          ("YU12", 640, 360, "a vivid size: vivid's YU12 frames"),
                                          ("YUYV", 320, 240, "not a vivid size: scaled from a larger mode")]):
    start = next((r for r in fm if r.get("event") == "start" and r.get("stream") == i), {})
    sm = summary(fm, i) or {}
    fs = frames(fm, i)
    cs = classes(fs)
    want = w * h * 2 if fourcc == "YUYV" else w * h * 3 // 2
    ok = (start.get("format") == fourcc and start.get("width") == w and start.get("height") == h
          and start.get("sizeimage") == want and sm.get("until_met") == "yes"
          and cs[-UNTIL_IMAGE:] == ["image"] * UNTIL_IMAGE and sm.get("wrong_bytesused") == 0
          and sm.get("error_flagged") == 0 and sm.get("sequence_strictly_increasing"))
    if i == 3:
        native = (w, h) in vivid_sizes.get(fourcc, set())
        ok = ok and bool(vivid_sizes) and not native
        what += f" ({'offered' if native else 'not offered'} by vivid: {sorted(vivid_sizes.get(fourcc, set()))[:4]}...)"
    lumas = [f["luma"] for f in fs if f["class"] == "image"]
    check(f"guest {fourcc} {w}x{h}@15 ({what}): ends with {UNTIL_IMAGE} real image frames in a row, every frame "
          f"{want} bytes, 0 error-flagged, sequence strictly rising", ok,
          f"{len(fs)} frames {describe(cs)}; {sm.get('distinct_non_black')} distinct non-black; luma "
          f"{min(lumas, default=0):.0f}..{max(lumas, default=0):.0f}; max gap {sm.get('max_sequence_gap')}; "
          f"error {sm.get('error')}")
check("the formats frontend and its sidecar exited 0", read("formats.rc").strip() == "0"
      and read("sidecar-formats.rc").strip() == "0",
      f"frontend {read('formats.rc').strip()} ({read('formats.err').strip()[:120]}), sidecar {read('sidecar-formats.rc').strip()}")

# One long stream per VM through deny/allow, unplug/replug, kill/restart. Each step's window runs from the mark the
# guest set once the step's command returned to the mark before the next step; a change may take LATE_FRAMES frames
# to show (buffers filled before it), and after it every frame of the window must be of the new class.
a, b = records("a.jsonl"), records("b.jsonl")
steady_a, steady_b = classes(window(a, "both", "deny-a")), classes(window(b, "both", "deny-a"))
check(f"two sidecars on one camera: both VMs get real frames at once (every frame real, at least {MIN_WINDOW} each)",
      len(steady_a) >= MIN_WINDOW and len(steady_b) >= MIN_WINDOW and set(steady_a) == {"image"}
      and set(steady_b) == {"image"},
      f"vm-a {describe(steady_a)}, vm-b {describe(steady_b)}; from the start: vm-a {describe(classes(window(a, None, 'both')))}, "
      f"vm-b {describe(classes(window(b, None, 'both')))}",
      timeouts=depends_on(timeouts, "start", "both", "deny-a"))


def turned(recs, start, end, cls, within):
    return becomes(classes(window(recs, start, end)), cls, within)


t = turned(a, "denied-a", "allow-a", "black", LATE_FRAMES)
check(f"deny vm-a while it streams: ctl exits 0 once effective; vm-a black within {LATE_FRAMES} frames after it "
      "returned, then every frame black", read("deny-a.rc").strip() == "0" and t.ok,
      f"{read('deny-a.txt').strip()}; vm-a: {t.detail}", timeouts=depends_on(timeouts, "deny-a", "denied-a", "allow-a"))
sb = classes(window(b, "deny-a", "allowed-a"))
check(f"deny vm-a: vm-b keeps real frames meanwhile (every frame real, at least {MIN_WINDOW}; its ring is rotated, "
      "not stopped)", len(sb) >= MIN_WINDOW and set(sb) == {"image"}, f"{len(sb)} frames {describe(sb)}",
      timeouts=depends_on(timeouts, "deny-a", "denied-a", "allow-a", "allowed-a"))
t = turned(a, "allowed-a", "unplug", "image", 60)
check("allow vm-a again: ctl exits 0; real frames within 60 frames, then every frame real",
      read("allow-a-again.rc").strip() == "0" and t.ok, t.detail, timeouts=depends_on(timeouts, "allowed-a", "unplug"))

ta, tb = turned(a, "unplugged", "replug", "black", 45), turned(b, "unplugged", "replug", "black", 45)
check("unplug (vivid's Disconnect control) while both stream: both black within 45 frames, then every frame black",
      read("disconnect.rc").strip() == "0" and ta.ok and tb.ok, f"vm-a {ta.detail}; vm-b {tb.detail}",
      timeouts=depends_on(timeouts, "unplug", "unplugged", "replug"))
ta, tb = turned(a, "replugged", "kill", "image", 150), turned(b, "replugged", "kill", "image", 150)
dm = read("vivid-dmesg.txt")
check("replug (vivid reconnects): the service re-opens the camera; both real within 150 frames, then every frame real",
      ta.ok and tb.ok and "disconnect" in dm and "reconnect" in dm,
      f"vm-a {ta.detail}; vm-b {tb.detail}; vivid: {' | '.join(l.split('] ', 1)[-1] for l in dm.strip().splitlines())[:120]}",
      timeouts=depends_on(timeouts, "replug", "replugged", "kill"))

ta, tb = turned(a, "killed", "restart", "black", LATE_FRAMES), turned(b, "killed", "restart", "black", LATE_FRAMES)
check(f"kill -9 of the service while both stream: both black within {LATE_FRAMES} frames, then every frame black",
      ta.ok and tb.ok, f"vm-a {ta.detail}; vm-b {tb.detail}", timeouts=depends_on(timeouts, "kill", "killed", "restart"))
ta, tb = turned(a, "restarted", "end", "image", 300), turned(b, "restarted", "end", "image", 300)
check("service restarted: both sidecars reconnect by themselves; both real within 300 frames, then every frame real",
      ta.ok and tb.ok, f"vm-a {ta.detail}; vm-b {tb.detail}",
      timeouts=depends_on(timeouts, "service-2", "restart", "restarted", "end"))

for name, recs in (("vm-a", a), ("vm-b", b)):
    # From both streaming steadily (the other VM's sidecar and frontend have started: .NET start-up in a TCG guest
    # starves everything for a few seconds) to the end of the last step.
    sm, d = summary(recs) or {}, done(recs) or {}
    fs = window(recs, "both", "end")
    seq_gaps = [y["sequence"] - x["sequence"] for x, y in zip(fs, fs[1:])]
    arrival = [y["t_ms"] - x["t_ms"] for x, y in zip(fs, fs[1:])]
    span = (fs[-1]["t_ms"] - fs[0]["t_ms"]) / 1000 if len(fs) > 1 else 0
    fps = (len(fs) - 1) / span if span else 0
    ok = (d.get("ok") is True and sm.get("sequence_strictly_increasing") is True and len(fs) > 100
          and min(seq_gaps) >= 1 and max(seq_gaps) <= MAX_SEQUENCE_GAP and max(arrival) <= MAX_ARRIVAL_GAP_MS
          and fps >= MIN_FPS and sm.get("wrong_bytesused") == 0 and sm.get("error_flagged") == 0)
    check(f"{name}'s stream never stopped through all of it: over 100 frames, sequence strictly rising (gaps <= "
          f"{MAX_SEQUENCE_GAP}), no arrival gap over {MAX_ARRIVAL_GAP_MS} ms, >= {MIN_FPS} fps, every frame whole", ok,
          f"{len(fs)} frames in {span:.0f} s ({fps:.1f} fps), max sequence gap {max(seq_gaps, default=None)}, max arrival "
          f"gap {max(arrival, default=None)} ms; whole stream: {sm.get('frames')} frames, sequence "
          f"{sm.get('first_sequence')}..{sm.get('last_sequence')}, max gap {sm.get('max_sequence_gap')}, max arrival gap "
          f"{sm.get('max_arrival_gap_ms')} ms, {sm.get('black')} black / {sm.get('image')} image; error {d.get('error')}",
          timeouts=depends_on(timeouts, "both", "end"))
check("both sidecars exited 0 when their frontend disconnected",
      read("sidecar-a.rc").strip() == "0" and read("sidecar-b.rc").strip() == "0",
      f"vm-a {read('sidecar-a.rc').strip()}, vm-b {read('sidecar-b.rc').strip()}")

# After streaming: closed again, vivid replaced under the running service.
check("camera closed again when nobody streams: 0 /dev/video* fds, and vivid unloads (rmmod exit 0) under the running "
      "service", os.path.exists(os.path.join(res, "fd-after.txt")) and read("fd-after.txt").strip() == ""
      and read("rmmod.rc").strip() == "0", f"fds [{read('fd-after.txt').strip()}]; rmmod rc {read('rmmod.rc').strip()} "
      f"{read('rmmod.txt').strip()[:80]}")
rl = records("reload.jsonl")
cs = classes(frames(rl))
check(f"a new vivid (module reloaded) is opened by the by-id link at the next stream: ends with {UNTIL_IMAGE} real "
      "frames in a row", read("reload.rc").strip() == "0" and (summary(rl) or {}).get("until_met") == "yes"
      and cs[-UNTIL_IMAGE:] == ["image"] * UNTIL_IMAGE, describe(cs))

audit = [json.loads(line) for line in read("audit.log").splitlines() if line.strip().startswith("{")]
text = read("audit.log")
check("audit.log records the permission changes and the real-camera streams (at least 5 entries, vm-a in 4, vm-b in 2)",
      len(audit) >= 5 and text.count("vm-a") >= 4 and text.count("vm-b") >= 2,
      f"{len(audit)} entries; " + "; ".join(" ".join(f"{k}={v}" for k, v in e.items() if k != "time")[:60] for e in audit[:6]))
check("the service stops cleanly on SIGTERM (exit 0)", read("service.rc").strip() == "0", read("service.rc").strip())

sys.exit(j.finish(os.path.join(out, "results.json"), f"host-camera and camera-service {kernel}", append=True))
