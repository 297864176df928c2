#!/usr/bin/env python3
"""Judges the HostCamera part of the host-camera phase (tests/e2e/host-camera.sh): the guest's results in
OUT/guest/results/host-camera/ from 'cameras', spectrum-camera-probe, the mode selection, vivid's unplug and replug. Writes
OUT/results.json (judge-camera-service.py adds its checks after these); exits 1 if any check failed.
Usage: judge_host_camera.py OUT KERNEL"""
import os
import re
import sys

import judge
from judge import Judge, depends_on, last_json_line, timeouts_by_label

out, kernel = sys.argv[1], sys.argv[2]
res = os.path.join(out, "guest", "results", "host-camera")
j = Judge(f"host-camera {kernel}: ")
check = j.check
PROBE_FRAMES = 8  # frames each spectrum-camera-probe run streams (tests/e2e/guest/host-camera.sh, FRAMES)


def read(name, default=""):
    return judge.read(os.path.join(res, name), default)


def load(name):
    return last_json_line(read(name))


# Waits in the guest that ran out of time, by label: each fails the checks of the step it belongs to.
timeouts = timeouts_by_label(read("wait-timeouts.txt"))


def packed_size(fourcc, w, h):
    return {"YUYV": 2 * w * h, "UYVY": 2 * w * h, "NV12": w * h * 3 // 2, "YU12": w * h * 3 // 2}.get(fourcc)


def frames_ok(probe, phase_name, fourcc, w, h, frames):
    """Detail string and verdict: the phase has `frames` frames, each of the packed size, sequence strictly rising."""
    if probe is None:
        return False, "no JSON report"
    phases = {p["name"]: p for p in probe.get("phases", [])}
    p = phases.get(phase_name)
    if p is None:
        return False, f"no '{phase_name}' phase; error: {probe.get('error')}"
    neg = probe.get("negotiated") or {}
    want = packed_size(fourcc, w, h)
    sizes_ok = (want is None and p["min_bytes"] > 0) or (p["min_bytes"] == want and p["max_bytes"] == want)
    ok = (p["frames"] == frames and p["strictly_increasing"] and sizes_ok and p["corrupt"] == 0
          and neg.get("fourcc") == fourcc and neg.get("width") == w and neg.get("height") == h)
    detail = (f"{p['frames']} frames of {p['min_bytes']}..{p['max_bytes']} bytes (want {want}), sequence "
              f"{p['first_sequence']}..{p['last_sequence']} {'rising' if p['strictly_increasing'] else 'NOT rising'}, "
              f"negotiated {neg.get('fourcc')} {neg.get('width')}x{neg.get('height')}@{neg.get('interval')}")
    return ok, detail


guest_rc = read("../exit-code", "missing").strip()
run_rc = judge.read(os.path.join(out, "run-guest.exit"), "missing").strip()
check("guest script ran to the end", run_rc == "0" and os.path.exists(os.path.join(res, "finished")),
      f"run-guest exit {run_rc}, guest exit {guest_rc}")
check("spectrum-camera runs in the guest (self-contained single file): --help exits 0", read("help.rc").strip() == "0",
      read("help.txt").strip().splitlines()[0] if read("help.txt").strip() else "no output")

none_err = read("cameras-none.err")
check("'cameras' without any camera exits 1 and says what to do",
      read("cameras-none.rc").strip() == "1" and "no video devices" in none_err and "Plug in a camera" in none_err,
      none_err.strip()[:160])

# vivid's formats according to v4l2-ctl, against 'cameras'.
listing = read("v4l2-list-formats-ext.txt")
v4l2_fourccs = re.findall(r"\[\d+\]: '([^']+)'", listing)
scan = load("cameras.json")
cams = (scan or {}).get("cameras", [])
vivid = cams[0] if len(cams) == 1 else None
line = read("cameras.out").strip()
check("'cameras' lists exactly one camera (vivid's capture node; its other nodes are skipped)",
      read("cameras.rc").strip() == "0" and len(cams) == 1 and len(line.splitlines()) == 1
      and len((scan or {}).get("skipped", [])) >= 1,
      f"{len(cams)} camera(s), {len((scan or {}).get('skipped', []))} skipped node(s)")
if vivid:
    fourccs = [f["fourcc"] for f in vivid["formats"]]
    check("'cameras' lists every format v4l2-ctl --list-formats-ext shows",
          len(v4l2_fourccs) > 0 and fourccs == v4l2_fourccs, f"{len(fourccs)} formats: {' '.join(fourccs)}")
    # Every (format, size) -> rates, both ways.
    theirs, fmt, size = {}, None, None
    for l in listing.splitlines():
        if m := re.search(r"\[\d+\]: '([^']+)'", l):
            fmt = m.group(1)
        elif m := re.search(r"Size: Discrete (\d+x\d+)", l):
            size = m.group(1)
            theirs[(fmt, size)] = set()
        elif m := re.search(r"\(([\d.]+) fps\)", l):
            theirs[(fmt, size)].add(round(float(m.group(1)), 3))
    ours = {(f["fourcc"], f"{s['width']}x{s['height']}"): {round(x, 3) for x in s["fps"]}
            for f in vivid["formats"] for s in f["sizes"]}
    diff = [k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k)]
    check("'cameras' lists the same sizes and rates per format as v4l2-ctl",
          len(ours) > 0 and not diff, f"{len(ours)} format x size entries, {sum(len(v) for v in ours.values())} rates"
          + (f"; differ: {sorted(diff, key=str)[:5]}" if diff else ""))
    check("'cameras' shows the by-id and by-path links of the node",
          any("by-id/usb-Spectrum_vivid_Webcam" in l for l in vivid["links"])
          and any("by-path/platform-vivid" in l for l in vivid["links"])
          and "(usb-Spectrum_vivid_Webcam-video-index0, platform-vivid.0-video-index0)" in line, line[:200])
    check("'cameras' line format: node (links) \"card\": FOURCC WxH@fps,...; ...",
          re.fullmatch(r'/dev/video0 \([^)]*\) "[^"]+": YUYV(/[^ /;]+)*( \d+x\d+@[\d.,]+)+(; [^ ;]+( \d+x\d+@[\d.,]+)+)*', line)
          is not None, line[:200])
else:
    check("'cameras' lists every format v4l2-ctl --list-formats-ext shows", False, "no camera in cameras.json")

# Streaming each format the guest menu can be fed from.
offered = [f["fourcc"] for f in vivid["formats"]] if vivid else []
for fourcc in ["YUYV", "UYVY", "NV12", "YU12", "MJPG"]:
    if fourcc not in offered:
        if fourcc == "MJPG":
            check("MJPG: vivid offers no MJPEG (not streamed)", os.path.exists(os.path.join(res, "probe-MJPG.skipped")))
        else:
            check(f"{fourcc}: offered by vivid", False, "missing from 'cameras'")
        continue
    probe = load(f"probe-{fourcc}.json")
    ok, detail = frames_ok(probe, "stream", fourcc, 640, 480, PROBE_FRAMES)
    written = read(f"probe-{fourcc}.bytes").strip()
    want = packed_size(fourcc, 640, 480)
    ok = ok and read(f"probe-{fourcc}.rc").strip() == "0" and written == str(PROBE_FRAMES * want)
    check(f"{fourcc} 640x480: {PROBE_FRAMES} frames through the by-id link, each of the packed size, sequence strictly "
          "rising", ok,
          detail + f", {written} bytes written")

# No allocation per frame: the probe's thread allocated nothing from the first frame's release to the last frame.
allocs = {}
for name in [f"probe-{f}" for f in ["YUYV", "UYVY", "NV12", "YU12"]] + ["select-exact", "unplug", "unplug-dqbuf"]:
    for p in (load(f"{name}.json") or {}).get("phases", []):
        if p["name"] in ("stream", "after-reopen"):
            allocs[f"{name}/{p['name']}"] = p.get("allocated_after_first_frame")
check("streaming allocates nothing per frame (GC bytes on the probe thread after the first frame: 0 in each of at "
      "least 8 phases)",
      len(allocs) >= 8 and all(v == 0 for v in allocs.values()),
      ", ".join(f"{k} {v}" for k, v in allocs.items() if v != 0) or f"{len(allocs)} phases, all 0")

# Mode selection: an independent oracle of the policy documented in docs/host-camera.md, run on what 'cameras'
# enumerated, must agree with what the probe chose (vivid's interval tables differ between kernels).
RAW = ["YUYV", "NV12", "YU12", "UYVY"]


def oracle(cam, fourcc, w, h, fps):
    best = None
    for f in cam["formats"]:
        if f["fourcc"] not in RAW + ["MJPG", "JPEG"]:
            continue
        rank = 0 if f["fourcc"] == fourcc else (1 + RAW.index(f["fourcc"]) if f["fourcc"] in RAW else 5)
        for s in f["sizes"]:
            rates = s["fps"]
            ok = [r for r in rates if r >= fps - 1e-6]
            r, rate_ok = (min(ok), True) if ok else ((max(rates), False) if rates else (fps, True))
            W, H = s["width"], s["height"]
            area, req = W * H, w * h
            tier = 0 if (W, H) == (w, h) and rate_ok else 1 if W >= w and H >= h and rate_ok else 2
            share = min(1, area / req) * (1 if rate_ok else min(1, r / fps))
            key = (tier, area, rank, W) if tier < 2 else (tier, -share, abs(area - req), -r, rank, W)
            if best is None or key < best[0]:
                best = (key, ["Exact", "ScaleDown", "Nearest"][tier], f["fourcc"], W, H, r)
    return best[1:] if best else None


def chosen(probe):
    sel = (probe or {}).get("selection") or {}
    n, d = (sel.get("interval") or "0/1").split("/")
    return (sel.get("match"), sel.get("fourcc"), sel.get("width"), sel.get("height"),
            round(int(d) / int(n), 3) if int(n) else 0)


for name, (fourcc, w, h, fps), tier, what in [
        ("select-exact", ("YUYV", 640, 480, 25), "Exact", "guest YUYV 640x480@25 -> Exact"),
        ("select-vga30", ("YUYV", 640, 480, 30), None,
         "guest YUYV 640x480@30 -> what the policy says (6.1: Nearest 640x480@25, vivid's 640x480 stops at 25 fps)"),
        ("select-nearest", ("YUYV", 1920, 1080, 60), "Nearest",
         "guest YUYV 1920x1080@60 -> Nearest, the mode with the largest share of the pixel rate"),
        ("select-larger", ("NV12", 320, 240, 15), "ScaleDown",
         "guest NV12 320x240@15 -> ScaleDown NV12 640x360 (smallest larger), via by-path")]:
    probe = load(f"{name}.json")
    expected = oracle(vivid, fourcc, w, h, fps) if vivid else None
    got = chosen(probe)
    ok = expected is not None and got == (expected[0], expected[1], expected[2], expected[3], round(expected[4], 3))
    ok = ok and (tier is None or got[0] == tier)
    if name == "select-larger":
        ok = ok and got[1:4] == ("NV12", 640, 360)
    streamed, detail = frames_ok(probe, "stream", got[1] or "", got[2] or 0, got[3] or 0, PROBE_FRAMES)
    check(f"mode selection: {what}, and streamed {PROBE_FRAMES} frames", ok and streamed and read(f"{name}.rc").strip() == "0",
          f"chosen {got}, policy oracle {expected}; {detail}")

# Unplug (vivid Disconnect) and recovery.
unplug = load("unplug.json")
u = unplug or {}
unplug_waits = depends_on(timeouts, "unplug-streaming", "unplug-reopen")
check("unplug: vivid's Disconnect control was set (v4l2-ctl exit 0)", read("disconnect.rc").strip() == "0",
      read("disconnect.txt").strip()[:120], timeouts=depends_on(timeouts, "unplug-streaming"))
reason = u.get("unplug_reason") or ""
check("unplug: reported as the Unplugged state (ENODEV or POLLERR/POLLHUP), not as an error",
      u.get("unplug_state") == "Unplugged" and ("ENODEV" in reason.upper() or "No such device" in reason or "Error" in reason),
      f"state {u.get('unplug_state')}: {reason}", timeouts=unplug_waits)
log_text = read("unplug.log")
check("unplug: re-opening fails while the device is gone (more than 1 attempt)",
      "reopen failed" in log_text and u.get("reopen_attempts", 0) > 1,
      f"{u.get('reopen_attempts')} attempts; " + next((l for l in log_text.splitlines() if "reopen failed" in l), "")[:160],
      timeouts=unplug_waits)
gone = read("cameras-gone.err")
check("unplug: 'cameras' reports the node as gone meanwhile", "/dev/video0: the device is gone" in gone, gone.strip()[:160],
      timeouts=unplug_waits)
ok, detail = frames_ok(unplug, "after-reopen", "YUYV", 640, 480, PROBE_FRAMES)
before_ok, before = frames_ok(unplug, "stream", "YUYV", 640, 480, PROBE_FRAMES)
check(f"unplug: TryReopen brings the camera back (same path, same mode) and it streams {PROBE_FRAMES} frames again",
      ok and before_ok and u.get("reopened") and read("unplug.rc").strip() == "0" and
      (u.get("reopened_negotiated") or {}).get("fourcc") == "YUYV", f"before: {before}; after: {detail}",
      timeouts=unplug_waits)
dq = load("unplug-dqbuf.json") or {}
ok, detail = frames_ok(dq, "after-reopen", "NV12", 640, 360, PROBE_FRAMES)
before_ok, before = frames_ok(dq, "stream", "NV12", 640, 360, PROBE_FRAMES)
check("unplug seen by DQBUF (no poll, as an epoll owner): Unplugged with ENODEV from VIDIOC_DQBUF, exactly 1 re-open",
      ok and before_ok and dq.get("unplug_state") == "Unplugged" and "VIDIOC_DQBUF" in (dq.get("unplug_reason") or "")
      and "errno 19" in (dq.get("unplug_reason") or "") and dq.get("reopen_attempts") == 1 and read("unplug-dqbuf.rc").strip() == "0",
      f"{dq.get('unplug_reason')}; {dq.get('reopen_attempts')} attempt(s); after: {detail}",
      timeouts=depends_on(timeouts, "unplug-dqbuf-streaming"))
dmesg = read("vivid-dmesg.txt")
check("unplug: vivid logged exactly 2 disconnects and 2 reconnects (both unplugs)",
      dmesg.count("disconnect") == 2 and dmesg.count("reconnect") == 2, dmesg.strip().replace("\n", " | ")[:240],
      timeouts=unplug_waits + depends_on(timeouts, "unplug-dqbuf-streaming"))

replug = load("replug.json")
r = replug or {}
ok, detail = frames_ok(replug, "stream", "YUYV", 640, 480, PROBE_FRAMES)
check("replug: a camera absent at start (vivid unloaded) is picked up through its by-id link when it appears (more "
      "than 1 wait attempt)",
      ok and read("replug.rc").strip() == "0" and r.get("wait_attempts", 0) > 1 and read("rmmod.rc").strip() == "0",
      f"{r.get('wait_attempts')} attempts; {detail}; error {r.get('error')}", timeouts=depends_on(timeouts, "replug-waiting"))

sys.exit(j.finish(os.path.join(out, "results.json"), f"host-camera {kernel}"))
