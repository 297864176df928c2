#!/usr/bin/env python3
"""Judges the output-node phase (tests/e2e/output-node.sh): the camera VM's results in OUT/guest/results/, the
viewer's frames (OUT/frames.jsonl, spectrum-camera-frontend's JSON lines) placed on the host clock by OUT/timeline.json
(the frontend's start, the guest's markers and the ctl steps, tests/e2e/output_node_driver.py), and the host
processes' exit statuses. Writes OUT/results.json (one check per line item); exits 1 if any check failed.

Usage: judge_output_node.py OUT KERNEL_SERIES"""
import os
import re
import sys

from judge import Judge, json_lines, judge_compliance, load_json, read, splats, timeouts_by_label, depends_on

# Producers the guest runs while frames are wanted, in order (tests/e2e/guest/output-node.sh).
PRODUCERS = ["ffmpeg", "ffmpeg-unpaced", "ffmpeg-nv12", "gst-mmap", "gst-userptr", "v4l2ctl-mmap", "v4l2ctl-user",
             "v4l2ctl-dmabuf"]
# The viewer's frames while a producer writes, from START_GRACE_S after its start mark to END_GRACE_S before its end
# mark (host times): measured in TCG guests, real frames began 0.04 to 1.0 s after the start mark (the producer's own
# start-up) and turned black 0.1 s before the host saw the end mark (the mark follows the producer's exit).
START_GRACE_S = 1.5
END_GRACE_S = 0.5
REAL_SHARE = 0.95
# The agent's windows: its camera opens 0.3 s after 'ctl allow' and a killed ffmpeg is back with frames 1.9 s after
# the kill (the agent's 1 s restart delay and ffmpeg's start), measured in TCG guests.
AGENT_START_GRACE_S = 3.0
AGENT_RESTART_GRACE_S = 5.0
# The device returns one output buffer per frame interval (30 fps); v4l2-ctl stops once it has queued its 90th
# frame, with up to its 4 buffers still queued, so 85 intervals at least.
PACED_FRAMES = 90
PACED_MIN_MS = 85 * 1000 // 30
EVENT_WITHIN_MS = 5000    # measured: 120 to 260 ms from the guest's mark to the event, ctl's round trip included
SPLATS = "0 kernel splats (WARNING, BUG, Oops, call trace, UBSAN, KASAN, refcount_t, hung task, list corruption)"


def main(argv=None):
    out, series = (argv if argv is not None else sys.argv[1:])[:2]
    res = os.path.join(out, "guest", "results")
    j = Judge(f"output-node {series}: ")

    def r(name):
        return read(os.path.join(res, name))

    timeouts = timeouts_by_label(r("timeouts.txt"))
    build = read(os.path.join(out, "module-build.log"))
    ko = os.path.exists(os.path.join(out, "module", "virtio_media_camera.ko"))
    j.check("guest driver builds with 0 warnings", ko and "warning:" not in build, "" if ko else "no .ko")
    timeline = load_json(os.path.join(out, "timeline.json")) or {}
    rc = read(os.path.join(out, "run-guest.exit"), "missing").strip()
    j.check("camera VM runs the phase to the end (guest script exit 0, its 'end' mark seen)",
            rc == "0" and r("exit-code").strip() == "0" and timeline.get("ended"),
            f"run-guest exit {rc}, script exit {r('exit-code').strip()}, wall {read(os.path.join(out, 'wall-seconds')).strip()} s")
    dmesg = r("dmesg.txt")
    trouble = splats(dmesg)
    j.check(f"{SPLATS} in the camera VM", dmesg and not trouble, "; ".join(trouble[:2]))
    exits = {name: read(os.path.join(out, f"{name}.exit"), "missing").strip()
             for name in ("producer-sidecar", "consumer-sidecar", "service", "driver")}
    j.check("every host process exits 0 (producer sidecar and viewer sidecar after their VMM, camera service on "
            "SIGTERM, the driver)", all(v == "0" for v in exits.values()), ", ".join(f"{k} {v}" for k, v in exits.items()))

    # ---- the node ---------------------------------------------------------------------------------------------
    info = r("info.txt")
    caps = info.split("Device Caps", 1)[1].split("Priority", 1)[0] if "Device Caps" in info else ""
    caps_lines = {line.strip() for line in caps.splitlines()[1:] if line.strip()}
    want_caps = {"Video Output", "Read/Write", "Streaming", "Extended Pix Format"}
    j.check("the node's device caps are exactly Video Output, Read/Write, Streaming, Extended Pix Format",
            caps_lines == want_caps, ", ".join(sorted(caps_lines)) or "no Device Caps in v4l2-ctl --all")
    j.check("v4l2-ctl lists Frames Wanted: frames_wanted 0x00981f00 (bool), default 0, read-only",
            re.search(r"frames_wanted 0x00981f00 \(bool\)\s*: default=0 value=\d flags=read-only", r("ctrls.txt")),
            r("ctrls.txt").strip().replace("\n", " | "))
    for name, log in (("", "compliance.log"), (" -s 10 -e vivid (MMAP, USERPTR, DMABUF streaming)", "compliance-streaming.log")):
        passed, detail = judge_compliance(r(log), series)
        j.check(f"v4l2-compliance{name} on the output node: no failure beyond v4l-utils 1.22's recorded ones on {series}",
                passed, detail)
    streaming = r("compliance-streaming.log")
    ran = [t for t in ("MMAP (no poll)", "MMAP (select)", "MMAP (epoll)", "USERPTR (no poll)", "USERPTR (select)",
                       "DMABUF (no poll)", "DMABUF (select)") if re.search(rf"test {re.escape(t)}: OK\s*$", streaming, re.M)]
    j.check("v4l2-compliance -s runs its MMAP, USERPTR and DMABUF output streaming tests, each OK", len(ran) == 7,
            f"OK: {', '.join(ran) or 'none'}")

    # ---- Frames Wanted and its events ---------------------------------------------------------------------------
    def value(name):
        m = re.search(r"frames_wanted: (\d)", r(f"wanted-{name}.txt"))
        return m.group(1) if m else r(f"wanted-{name}.txt").strip() or "missing"

    j.check("Frames Wanted is 0 before the host wants frames", value("initial") == "0", value("initial"))
    for name, v, step in (("on", "1", "allow"), ("off", "0", "deny")):
        text, ms = r(f"event-{name}.txt"), r(f"event-{name}.ms").strip()
        ok = (r(f"event-{name}.exit").strip() == "0" and "ctrl: frames_wanted" in text
              and re.search(rf"value: {v}\b", text) and ms.isdigit() and int(ms) <= EVENT_WITHIN_MS)
        j.check(f"v4l2-ctl --wait-for-event=ctrl=frames_wanted gets the event with value {v} within "
                f"{EVENT_WITHIN_MS // 1000} s of the guest asking for 'ctl {step}'", ok,
                f"{ms} ms: {' '.join(text.split())}", depends_on(timeouts, f"event-{name}"))
        j.check(f"Frames Wanted reads {v} after 'ctl {step}'", value(name) == v, value(name))
    fmt, parm = r("demanded-fmt.txt"), r("demanded-parm.txt")
    j.check("while frames are wanted G_FMT/G_PARM give the mode the viewer streams: YUYV 640x480 at 30/1",
            "Width/Height      : 640/480" in fmt and "'YUYV'" in fmt and "(30/1)" in parm,
            " ".join((fmt + parm).split())[:200])

    # ---- producers and what the viewer sees ---------------------------------------------------------------------
    frames = [f for f in json_lines(read(os.path.join(out, "frames.jsonl"))) if f.get("event") == "frame"]
    t0 = timeline.get("frontend_start_ns", 0)
    marks = {}
    for m in timeline.get("markers", []):
        marks.setdefault(m["event"], (m["host_ns"] - t0) / 1e9)
    steps = {s["event"]: s for s in timeline.get("steps", [])}

    def classes(start, end):
        return [f["class"] for f in frames if start <= f["t_ms"] / 1000 <= end]

    def real_share(start, end):
        c = classes(start, end)
        real = sum(1 for x in c if x != "black")
        return (real / len(c) if c else 0.0), real, len(c)

    for p in PRODUCERS:
        ms = r(f"{p}.ms").strip()
        j.check(f"{p} exits 0 writing into the output node", r(f"{p}.exit").strip() == "0",
                f"exit {r(f'{p}.exit').strip() or 'missing'} after {ms} ms; {' '.join(r(f'{p}.log').split())[:160]}")
        start, end = marks.get(f"{p}-start"), marks.get(f"{p}-end")
        if start is None or end is None:
            j.check(f"the viewer sees {p}'s frames", False, "no start or end mark")
            continue
        share, real, n = real_share(start + START_GRACE_S, end - END_GRACE_S)
        j.check(f"the viewer sees {p}'s frames: at least {REAL_SHARE:.0%} of its frames from {START_GRACE_S} s after "
                f"the start to {END_GRACE_S} s before the end are real, not black", n > 0 and share >= REAL_SHARE,
                f"{real} of {n} real")
    ms = r("v4l2ctl-mmap.ms").strip()
    j.check(f"the device paces an unpaced producer: v4l2-ctl's {PACED_FRAMES} MMAP frames take at least {PACED_MIN_MS} "
            "ms (one buffer returned per 1/30 s)", ms.isdigit() and int(ms) >= PACED_MIN_MS,
            f"{ms} ms; ffmpeg without -re: 90 frames in {r('ffmpeg-unpaced.ms').strip()} ms")

    quiet = []
    if "allow" in steps:
        quiet.append((0.0, (steps["allow"]["start_ns"] - t0) / 1e9, "before the first 'ctl allow'"))
    if "deny" in steps and "agent-allow" in steps:
        quiet.append(((steps["deny"]["return_ns"] - t0) / 1e9, (steps["agent-allow"]["start_ns"] - t0) / 1e9,
                      "between 'ctl deny' and the agent's 'ctl allow'"))
    if "agent-deny" in steps:
        quiet.append(((steps["agent-deny"]["return_ns"] - t0) / 1e9, 1e9, "after the last 'ctl deny' returned"))
    for start, end, what in quiet:
        c = classes(start, end)
        j.check(f"the viewer sees only black frames {what}", c and all(x == "black" for x in c),
                f"{sum(1 for x in c if x != 'black')} of {len(c)} real")
    summary = next((x for x in json_lines(read(os.path.join(out, "frames.jsonl"))) if x.get("event") == "summary"), {})
    j.check("the viewer's stream runs to the end of the phase with increasing sequence numbers",
            timeline.get("frontend_exit") == 0 and summary.get("sequence_strictly_increasing") is True,
            f"frontend exit {timeline.get('frontend_exit')}, {summary.get('frames')} frames, "
            f"max arrival gap {summary.get('max_arrival_gap_ms')} ms")

    # ---- the camera-VM agent ---------------------------------------------------------------------------------
    before = r("camera-before.txt").strip()
    j.check("agent: the camera (vivid) stays closed while frames are not wanted", before == "users=0"
            and value("agent-before") == "0", f"{before}, Frames Wanted {value('agent-before')}")
    j.check("agent: the camera is opened within 30 s of 'ctl allow'", r("camera-open.txt").startswith("open"),
            r("camera-open.txt").strip(), depends_on(timeouts, "camera-open"))
    if "agent-allow" in marks and "agent-kill" in marks:
        share, real, n = real_share(marks["agent-allow"] + AGENT_START_GRACE_S, marks["agent-kill"])
        j.check(f"agent: the viewer sees the camera's frames: at least {REAL_SHARE:.0%} real from "
                f"{AGENT_START_GRACE_S} s after 'ctl allow' to the kill", n > 0 and share >= REAL_SHARE, f"{real} of {n} real")
    first, second = r("agent-ffmpeg-first.txt").strip(), r("agent-ffmpeg-second.txt").strip()
    j.check("agent: its ffmpeg, killed while frames are wanted, is replaced by a new one with the camera open within 20 s",
            first and second and first != second and "users=0" not in r("camera-restarted.txt"),
            f"ffmpeg {first or '-'} -> {second or '-'}; {r('camera-restarted.txt').strip()}")
    if "agent-kill" in marks and "agent-deny" in marks:
        share, real, n = real_share(marks["agent-kill"] + AGENT_RESTART_GRACE_S, marks["agent-deny"])
        j.check(f"agent: the viewer sees the camera's frames again: at least {REAL_SHARE:.0%} real from "
                f"{AGENT_RESTART_GRACE_S} s after the kill to 'ctl deny'", n > 0 and share >= REAL_SHARE, f"{real} of {n} real")
    j.check("agent: the camera is closed within 30 s of 'ctl deny'", r("camera-closed.txt").startswith("closed"),
            r("camera-closed.txt").strip(), depends_on(timeouts, "camera-closed"))
    after = r("camera-after.txt").strip()
    j.check("agent: exits 0 on SIGTERM, leaving the camera closed and no ffmpeg", r("agent.exit").strip() == "0"
            and after == "users=0 ffmpeg=", f"exit {r('agent.exit').strip()}, {after}")
    log = r("agent.log")
    said = [w for w in ("frames not wanted", "frames wanted (YUYV 640x480 at 30/1 fps)", "exited with status",
                        "frames no longer wanted: stopping", "SIGTERM received") if w in log]
    j.check("agent: logs each change in words (not wanted, wanted with the mode, died, stopping, SIGTERM)", len(said) == 5,
            f"found: {', '.join(said)}")
    return j.finish(os.path.join(out, "results.json"), f"output-node {series}")


if __name__ == "__main__":
    sys.exit(main())
