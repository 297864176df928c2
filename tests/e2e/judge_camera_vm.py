#!/usr/bin/env python3
"""Judges the camera-VM phase (tests/e2e/camera-vm.sh): two QEMU guests, a camera VM whose camera (vivid) reaches a
consumer VM through the camera VM's output device, its producer sidecar, the camera service and the consumer's
sidecar. Reads OUT/timeline.json (tests/e2e/camera_vm_driver.py), both guests' results in OUT/camvm/guest/results/ and
OUT/consumer/guest/results/, and the host processes' exit files; writes OUT/results.json, one check per line item, and
exits 1 if any check failed.

Frames are judged exactly. The camera VM's first pipeline writes KNOWN_FRAMES known frames (known_frame, YUYV
320x240) in a loop and the consumer captures the same format, which the service passes through unconverted, so each
frame the consumer gets is byte for byte one of them or black. The second pipeline is ffmpeg from vivid, whose
default picture is the 75% colour bars: a frame from it has eight bands of falling luma across a row near its bottom
(vivid writes its text over the upper part of the picture).

Usage: judge_camera_vm.py OUT KERNEL
       judge_camera_vm.py --write-known FILE      (the camera VM's known frames, for camera-vm.sh)"""
import os
import sys

import judge
from judge import Judge, Sequence, dequeued, runs, shape, splats

KNOWN_FRAMES = 30
KNOWN_SIZE = (320, 240)
# The consumer's two captures (tests/e2e/camera_vm_driver.py).
PATTERN = ("pattern", "YUYV", 320, 240)
VIVID = ("vivid", "NV12", 320, 240)
# Real frames each real run must have at least: the driver keeps each pipeline running for 90 frames.
MIN_REAL_RUN = 30
# Bands of vivid's colour bars and the least luma step between neighbours: the 75% bars' BT.601 limited-range
# luma is 180, 162, 131, 112, 84, 65, 35, 16 (white to black), 18 apart at the least.
BARS = 8
MIN_BAR_STEP = 8
LETTERS = {"known": "K", "bars": "V", "black": "B", "other": "?"}


def known_frame(k):
    """Known frame k of the camera VM's loop, YUYV 320x240: a ramp in each component shifted by k, every byte within
    BT.601 limited range (Y 16..235, Cb/Cr 16..240), so no conversion or clamping can change it. The frames differ
    from one another and from black."""
    w, h = KNOWN_SIZE
    rows = []
    for y in range(h):
        row = bytearray(2 * w)
        for x2 in range(w // 2):
            row[4 * x2] = 16 + (2 * x2 + y + 7 * k) % 220
            row[4 * x2 + 1] = 16 + (x2 + 3 * k) % 225
            row[4 * x2 + 2] = 16 + (2 * x2 + 1 + y + 7 * k) % 220
            row[4 * x2 + 3] = 16 + (y + 5 * k) % 225
        rows.append(bytes(row))
    return b"".join(rows)


def black_frame(fourcc, w, h):
    """What the sidecar renders as black: Y 16, Cb and Cr 128."""
    if fourcc == "YUYV":
        return bytes([16, 128]) * (w * h)
    return bytes([16]) * (w * h) + bytes([128]) * (w * h // 2)


def is_colour_bars(frame, w, h):
    """Whether the row at 7/8 of the height of the luma plane (NV12: the first w*h bytes) falls through eight bands,
    each band's inner half at least MIN_BAR_STEP below the one before. Not the middle row: vivid's text (frame counter,
    time, controls) covers rows down to about the middle of a 320x240 picture (measured: row 120 of a first run had
    text, rows 200-239 of all its 200 real frames had the bars alone)."""
    y = h * 7 // 8
    row = frame[y * w:(y + 1) * w]
    band = w // BARS
    means = [sum(row[b * band + band // 4:b * band + 3 * band // 4]) / (band // 2) for b in range(BARS)]
    return all(a - b >= MIN_BAR_STEP for a, b in zip(means, means[1:]))


def frames_of(path, size):
    """A raw capture's whole frames (a capture ended by SIGINT may end in part of one)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    return [data[i:i + size] for i in range(0, len(data) - size + 1, size)]


def classify_known(frames, w, h):
    """(classes, known indices): 'known' with its index k, 'black' or 'other' per frame."""
    known = {known_frame(k): k for k in range(KNOWN_FRAMES)}
    black = black_frame("YUYV", w, h)
    classes, indices = [], []
    for f in frames:
        k = known.get(f)
        classes.append("known" if k is not None else "black" if f == black else "other")
        indices.append(k)
    return classes, indices


def classify_vivid(frames, w, h):
    black = black_frame("NV12", w, h)
    return ["black" if f == black else "bars" if is_colour_bars(f, w, h) else "other" for f in frames]


def starts_after(classes, n, step):
    """(passed, detail): the n-th run of the classes (0-based) begins at a frame the consumer dequeued after `step`
    was taken: every frame before the step's count was dequeued before the step, so none of them can show its effect."""
    rs = runs(classes)
    if step is None or n >= len(rs):
        return False, f"no step, or no run {n} in {letters(classes)}"
    return rs[n].first >= step["consumer_frames"], (f"{rs[n].cls} from frame {rs[n].first}; {step['consumer_frames']} dequeued "
                                                    f"before {step['step']}")


def letters(classes):
    return " ".join(f"{LETTERS.get(r.cls, '?')}{r.count}" for r in runs(classes))


def step(timeline, name):
    return next((s for s in timeline.get("steps", []) if s["step"] == name), None)


def states_between(markers, start_ns, end_ns):
    """The camera VM's state markers in force during [start_ns, end_ns] on the host clock: the last one seen before the
    start and every one seen up to the end (a marker's host time is when the host read it, no earlier than written)."""
    states = [m for m in markers if m["event"] == "state"]
    before = [m for m in states if m["host_ns"] <= start_ns]
    inside = [m for m in states if start_ns < m["host_ns"] <= end_ns]
    return before[-1:] + inside, len(inside)


def judge_run(out, kernel):
    j = Judge(f"camera-vm {kernel}: ")
    check = j.check
    camvm = os.path.join(out, "camvm", "guest", "results")
    consumer = os.path.join(out, "consumer", "guest", "results")
    timeline = judge.load_json(os.path.join(out, "timeline.json")) or {}

    def host(name):
        return judge.read(os.path.join(out, name), "missing").strip()

    failure = timeline.get("failure") or (f"setup failed: {host('setup-failed')}" if os.path.exists(os.path.join(out, "setup-failed")) else None)
    check("the scenario ran to the end: every step taken, every ctl exit 0 (camera_vm_driver.py)",
          host("driver.exit") == "0" and not failure and step(timeline, "idle-3-end") is not None,
          f"driver exit {host('driver.exit')}; {failure or 'no failure'}; {len(timeline.get('steps', []))} steps")
    for name, res in (("camera VM", camvm), ("consumer VM", consumer)):
        check(f"the {name}'s guest script ran to the end (exit 0, results returned)",
              judge.read(os.path.join(res, "exit-code"), "missing").strip() == "0",
              f"guest exit {judge.read(os.path.join(res, 'exit-code'), 'missing').strip()}, run-guest exit "
              f"{host(('camvm' if res == camvm else 'consumer') + '/run-guest.exit')}")
    devices = judge.read(os.path.join(camvm, "producer-devices.txt"))
    check("the camera VM's driver binds the output device: Video Output capability and the Frames Wanted control",
          "Video Output" in devices and "frames_wanted" in devices, devices.strip().splitlines()[0] if devices.strip() else "no device list")

    # ---- the camera VM: camera closed while nobody allowed watches ----
    markers = timeline.get("markers", {}).get("camvm", [])
    for window, what in (("idle-1", "before any consumer streamed (known-pattern agent)"),
                         ("idle-2", "between the captures (ffmpeg-from-vivid agent)"),
                         ("idle-3", "after the last capture (ffmpeg-from-vivid agent)")):
        start, end = step(timeline, f"{window}-start"), step(timeline, f"{window}-end")
        if start is None or end is None:
            check(f"no consumer {what}: Frames Wanted 0, no pipeline, vivid closed (at least 2 samples)", False,
                  f"no {window} window in the timeline")
            continue
        states, inside = states_between(markers, start["host_ns"], end["host_ns"])
        busy = [s for s in states if (s.get("wanted"), s.get("vivid"), s.get("pipeline")) != (0, 0, 0)]
        check(f"no consumer {what}: Frames Wanted 0, no pipeline, vivid closed (at least 2 samples)",
              inside >= 2 and not busy,
              f"{inside} samples in {(end['host_ns'] - start['host_ns']) / 1e9:.1f} s; "
              + (f"not idle: {busy[:3]}" if busy else "all idle"))

    agent_pattern = judge.read(os.path.join(camvm, "agent-pattern.log"))
    agent_vivid = judge.read(os.path.join(camvm, "agent-vivid.log"))
    check("the agent read the service's demanded mode from the output device: YUYV 320x240 at 30/1 for the first capture",
          "frames wanted (YUYV 320x240 at 30/1 fps)" in agent_pattern, _lines(agent_pattern, "frames wanted"))
    check("the agent read the service's demanded mode from the output device: NV12 320x240 at 30/1 for the second capture",
          "frames wanted (NV12 320x240 at 30/1 fps)" in agent_vivid, _lines(agent_vivid, "frames wanted"))
    check("the agent restarted ffmpeg after it was killed while frames were wanted",
          "while frames are wanted; restarting" in agent_vivid and step(timeline, "vivid-pipeline-restarted") is not None,
          _lines(agent_vivid, "exited with status"))
    deny, closed = step(timeline, "ctl-deny#2"), step(timeline, "vivid-closed")
    check("denied while streaming from vivid: the camera VM closes vivid (the driver saw it within its 90 s wait)",
          deny is not None and closed is not None,
          f"vivid closed {(closed['host_ns'] - deny['host_ns']) / 1e9:.1f} s after the deny returned"
          if deny and closed else "no deny or no closing in the timeline")

    # ---- the consumer: the known pattern, exact ----
    name, fourcc, w, h = PATTERN
    frames = frames_of(os.path.join(consumer, f"{name}.raw"), w * h * 2)
    classes, indices = classify_known(frames, w, h)
    seqs = Sequence([d.seq for d in dequeued(judge.read(os.path.join(consumer, f"{name}-dqbuf.log")))])
    check("known pattern: every frame the consumer got is byte for byte a frame the camera VM wrote, or black",
          frames and "other" not in classes, f"{len(frames)} frames: {letters(classes)}")
    check("known pattern: black (denied), known, black (denied), known, in that order",
          shape(classes) == ["black", "known", "black", "known"], letters(classes))
    real_runs = [r for r in runs(classes) if r.cls == "known"]
    check(f"known pattern: at least {MIN_REAL_RUN} known frames in each allowed run",
          len(real_runs) == 2 and all(r.count >= MIN_REAL_RUN for r in real_runs), letters(classes))
    allow = step(timeline, "ctl-allow#1")
    first_known = next((i for i, c in enumerate(classes) if c == "known"), None)
    check("known pattern: no known frame among those the consumer had dequeued before the host allowed it",
          allow is not None and first_known is not None and first_known >= allow["consumer_frames"],
          f"first known frame at {first_known}, {allow['consumer_frames'] if allow else '?'} dequeued before the allow")
    check("known pattern: the black after the first known frames begins after the host denied",
          *starts_after(classes, 2, step(timeline, "ctl-deny#1")))
    check("known pattern: the known frames after that begin after the host allowed again",
          *starts_after(classes, 3, step(timeline, "ctl-allow#2")))
    # Within each run: a pipeline started again reads the file from its first frame.
    run_ks = [[indices[i] for i in range(r.first, r.first + r.count)] for r in real_runs]
    backwards = [(a, b) for ks in run_ks for a, b in zip(ks, ks[1:]) if (b - a) % KNOWN_FRAMES >= KNOWN_FRAMES // 2]
    known_count = sum(len(ks) for ks in run_ks)
    check(f"known pattern: within each run the known frames come in the order written (each the same or a later one of the {KNOWN_FRAMES}-frame loop)",
          known_count and not backwards,
          f"{known_count} known frames, {len({k for ks in run_ks for k in ks})} distinct; " + (f"backwards: {backwards[:5]}" if backwards else "in order"))
    check("known pattern: the consumer's stream never stopped (sequence strictly increasing across deny and allow)",
          seqs.seqs and seqs.strictly_increasing and len(seqs.seqs) >= len(frames), f"{len(seqs.seqs)} buffers, {seqs.describe()}")

    # ---- the consumer: ffmpeg from vivid, killed and restarted, denied ----
    name, fourcc, w, h = VIVID
    frames = frames_of(os.path.join(consumer, f"{name}.raw"), w * h * 3 // 2)
    classes = classify_vivid(frames, w, h)
    seqs = Sequence([d.seq for d in dequeued(judge.read(os.path.join(consumer, f"{name}-dqbuf.log")))])
    check("vivid: every frame the consumer got is vivid's colour bars or black",
          frames and "other" not in classes, f"{len(frames)} frames: {letters(classes)}")
    check("vivid: black (starting), bars, black (ffmpeg killed), bars (restarted), black (denied), in that order",
          shape(classes) == ["black", "bars", "black", "bars", "black"], letters(classes))
    bars = [r for r in runs(classes) if r.cls == "bars"]
    check(f"vivid: at least {MIN_REAL_RUN} frames of bars before the kill and after the restart",
          len(bars) == 2 and all(r.count >= MIN_REAL_RUN for r in bars), letters(classes))
    kill, deny = step(timeline, "vivid-pipeline-kill"), step(timeline, "ctl-deny#2")
    check("vivid: the black after the first bars begins after the camera VM's ffmpeg was killed", *starts_after(classes, 2, kill))
    check("vivid: the last black begins after the host denied", *starts_after(classes, 4, deny))
    back = bars[1].first if len(bars) == 2 else None
    check("vivid: the black after the kill ended in real frames before the host denied (it was the kill's, not the deny's)",
          kill is not None and deny is not None and back is not None and back < deny["consumer_frames"],
          f"bars again at frame {back}; the deny came at frame {deny['consumer_frames'] if deny else '?'}")
    check("vivid: the consumer's stream never stopped (sequence strictly increasing across the kill, restart and deny)",
          seqs.seqs and seqs.strictly_increasing and len(seqs.seqs) >= len(frames), f"{len(seqs.seqs)} buffers, {seqs.describe()}")

    # ---- kernels and host processes ----
    for name, res in (("camera VM", camvm), ("consumer VM", consumer)):
        found = splats(judge.read(os.path.join(res, "dmesg.txt")))
        check(f"the {name}'s kernel log has no oops, WARN or BUG", os.path.exists(os.path.join(res, "dmesg.txt")) and not found,
              "; ".join(found[:3]) or "clean")
    for process in ("producer-sidecar", "consumer-sidecar"):
        check(f"the {process} exits 0 when its QEMU exits", host(f"{process}.exit") == "0", f"exit {host(process + '.exit')}")
    check("the camera service stops on SIGTERM with exit 0", host("service.exit") == "0", f"exit {host('service.exit')}")
    cameras = judge.read(os.path.join(out, "cameras.json"))
    check("the service knows the camera VM as its camera cam (ctl cameras: device vm:camvm)",
          '"vm:camvm"' in cameras and '"cam"' in cameras, cameras.strip()[:200] or "no ctl cameras output")
    wall = host("wall-seconds")
    return j.finish(os.path.join(out, "results.json"), f"camera-vm {kernel} ({wall} s)")


def _lines(text, needle):
    found = [l.split(": ", 1)[-1] for l in text.splitlines() if needle in l]
    return " | ".join(found[:3]) or f"no line with '{needle}'"


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--write-known":
        with open(args[1], "wb") as f:
            for k in range(KNOWN_FRAMES):
                f.write(known_frame(k))
        return 0
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return judge_run(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
