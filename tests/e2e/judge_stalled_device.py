#!/usr/bin/env python3
"""Judges the stalled-device test (tests/e2e/guest/stalled-device.sh, run inside the hostile phase's guest) and adds
its checks to the hostile phase's results.json (the shared judge library, judge.py).

Usage: judge_stalled_device.py --out DIR --sidecar SPECTRUM-CAMERA.DLL
  DIR is tests/e2e/hostile.sh's output directory (DIR/guest/results/stalled-device/ holds the guest's files); the
  checks are appended to DIR/results.json and written alone to DIR/stalled-device.json. Exits 1 if any failed.

Thresholds: a killed process must be gone within 1 s (the driver's waits are killable; before, they were not and
took the full 5 s timeout; measured 10-20 ms under TCG); the unanswered G_FMT must fail after 5 s and before 10 s
(the driver's timeout is 5 s; the margin covers starting v4l2-ctl under TCG on a loaded host, measured 0.1-0.2 s
idle); each open after the timeout must fail within 1 s (it fails before reaching the device, measured 10-40 ms;
before, each took 5 s).
"""
import argparse
import os
import re
import sys

from judge import Judge, read, splats, verify_frames


def parse_steps(text):
    """steps.txt lines 'name word... key=value...' -> {name: {'words': [...], key: value}} (the last line wins)."""
    steps = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        n = 2 if parts[0] in ("waiter", "queued") and len(parts) > 1 else 1
        rest = parts[n:]
        entry = {"words": [p for p in rest if "=" not in p]}
        entry.update(p.split("=", 1) for p in rest if "=" in p)
        steps[" ".join(parts[:n])] = entry
    return steps


def num(entry, key, default=-1):
    try:
        return int(entry.get(key, default))
    except (TypeError, ValueError):
        return default


def judge(out, sidecar, j):
    d = os.path.join(out, "guest", "results", "stalled-device")
    steps = parse_steps(read(os.path.join(d, "steps.txt")))

    if not steps or "setup" in steps:
        j.check("the test ran (device bound, fault no-answer selectable)", False,
                f"steps: {sorted(steps) or 'none'}; setup {steps.get('setup', {}).get('words')}")
        return

    blocked = steps.get("waiter blocked", {}).get("words", [])
    later = steps.get("waiter after-1s", {}).get("words", [])
    j.check("a v4l2-ctl whose G_FMT the device holds sleeps in the driver (killable, state D) and is still there 1 s "
            "later", steps.get("select1", {}).get("words") == ["ok"] and blocked[:1] == ["D"] and later[:1] == ["D"],
            f"fault selected: {steps.get('select1', {}).get('words')}; state, wchan: {blocked} then {later}")
    queued = steps.get("queued blocked", {}).get("words", [])
    j.check("a second v4l2-ctl's open() queues behind the held command (killable, state D)", queued[:1] == ["D"],
            f"state, wchan: {queued}")

    for who, what in (("waiter", "killed waiter (its G_FMT unanswered)"),
                      ("queued", "killed process queued behind the stalled command")):
        cs = num(steps.get(f"{who} killed", {}), "cs")
        rc = num(steps.get(f"{who} exit", {}), "rc")
        j.check(f"{what} exits within 1 s of SIGKILL", 0 <= cs <= 100 and rc == 137,
                f"gone {cs * 10} ms after SIGKILL, exit status {rc} (137 = killed)")

    t = steps.get("timeout", {})
    tlog = read(os.path.join(d, "timeout.log"))
    cs = num(t, "cs")
    j.check("an unanswered G_FMT fails with ETIMEDOUT after the 5 s timeout (took 5 to 10 s)",
            steps.get("select2", {}).get("words") == ["ok"] and num(t, "rc") not in (0, -1) and 500 <= cs < 1000
            and "Connection timed out" in tlog,
            f"exit {t.get('rc')}, {cs / 100:.2f} s; v4l2-ctl: {tlog.strip().splitlines()[-1:] or 'no output'}")

    after = [steps.get(f"after-{i}", {}) for i in range(1, 6)]
    fast = [e for e in after if num(e, "rc") not in (0, -1) and 0 <= num(e, "cs") <= 100]
    eio = [i for i in range(1, 6) if "Input/output error" in read(os.path.join(d, f"after-{i}.log"))]
    j.check("after the timeout every open fails at once with EIO (5 opens, each within 1 s)",
            len(fast) == 5 and len(eio) == 5,
            "opens: " + ", ".join(f"exit {e.get('rc')} in {num(e, 'cs') * 10} ms" for e in after)
            + f"; EIO reported by {len(eio)} of 5")

    dmesg = read(os.path.join(d, "dmesg.txt"))
    marked = len(re.findall(r"command timed out after \d+ ms: the device is marked broken", dmesg))
    refused = len(re.findall(r"the device stopped answering: command refused with EIO", dmesg))
    j.check("the driver logs the timeout once (device marked broken) and a refusal line for the later commands",
            marked == 1 and refused >= 1, f"'marked broken' {marked}x, refusal lines {refused}")

    dstate = steps.get("dstate", {}).get("words", [])
    splat = splats(dmesg)
    j.check("no process left in D state; no oops, BUG, WARN or other splat in dmesg",
            dstate == ["none"] and not splat and dmesg, f"D state: {dstate}; splat: {splat[:3]}")

    raw = os.path.join(d, "capture.raw")
    frames = verify_frames(sidecar, raw, "YUYV", "320x240") if os.path.exists(raw) else {"frames": 0, "ok": False}
    ok = all(num(steps.get(k, {}), "rc") == 0 for k in ("rmmod", "insmod", "reload-all", "reload-capture"))
    j.check("after a driver reload the device works again (rmmod, insmod, v4l2-ctl --all, 10 frames verified)",
            ok and frames.get("ok") and frames.get("frames") == 10,
            f"rmmod {steps.get('rmmod', {}).get('rc')}, insmod {steps.get('insmod', {}).get('rc')}, "
            f"--all {steps.get('reload-all', {}).get('rc')}, capture {steps.get('reload-capture', {}).get('rc')}, "
            f"{frames.get('frames', 0)} frames, {frames.get('verified', 0)} verified")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sidecar", required=True)
    args = ap.parse_args()
    j = Judge("stalled-device: ")
    judge(args.out, args.sidecar, j)
    j.write(os.path.join(args.out, "stalled-device.json"))
    return j.finish(os.path.join(args.out, "results.json"), "hostile and stalled-device", append=True)


if __name__ == "__main__":
    sys.exit(main())
