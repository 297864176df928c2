#!/usr/bin/env python3
"""Judges the hostile-device phase (tests/e2e/hostile.sh): per fault, the guest's results in
OUT/guest/results/hostile/<label>/ (clients.txt, each client's log, dmesg.txt, rmmod, insmod, dstate.txt). Writes
OUT/results.json (one check per line item) and OUT/summary.json; exits 1 if any check failed."""
import argparse
import json
import os
import re

from judge import Judge, dequeued, judge_compliance, key_values, read, splats, verify_frames

# What the driver logs when it refuses each fault (all required; its error lines are rate-limited per call site).
EXPECT = {
    "short-answer": ["short answer", "invalid used length"],
    "oversized-answer": ["invalid used length"],
    "bad-status": ["invalid status"],
    "garbage-fmt": ["invalid format"],
    "garbage-answers": ["invalid format", "invalid answer"],
    "bad-session": ["OPEN: short answer", "OPEN: invalid status", "OPEN: invalid used length", "which is in use",
                    "CLOSE: used length"],
    "huge-bytesused": ["bytesused exceeds the buffer"],
    "bad-index": [r"EVT_DQBUF for buffer \d+ of \d+ dropped"],
    "bad-events": ["unknown event type", "too short", "event of invalid length", "unexpected V4L2 event",
                   "EVT_ERROR for unknown session", "EVT_DQBUF with type", "which owns no buffers", "returned with ERROR",
                   "stale sequence"],
    "error-event": ["failed on the device", "with invalid errno"],
    "no-answer": ["command timed out"],
    "late-answer": ["command timed out"],
    "config-caps": ["not a capture-only streaming device"],
}
CAPTURE_FRAMES = 30       # the guest's MMAP capture per fault (tests/e2e/guest/hostile.sh)
COMMAND_TIMEOUT_S = 5     # the driver's command timeout: a client that waited it out took at least this long
SPLATS = "0 kernel splats (WARNING, BUG, Oops, call trace, UBSAN, KASAN, refcount_t, hung task, list corruption)"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--sidecar", required=True, help="spectrum-camera.dll (its verify-frames)")
    p.add_argument("--kernel", required=True, help="the guest kernel series (6.1 or 6.12)")
    args = p.parse_args()
    out, kernel = args.out, args.kernel
    res = os.path.join(out, "guest", "results")
    j = Judge("hostile: ")

    build = read(os.path.join(out, "module-build.log"))
    ko = os.path.exists(os.path.join(out, "module", "virtio_media_camera.ko"))
    j.check("guest driver builds with 0 warnings", ko and "warning:" not in build, "" if ko else "no .ko")
    rc = read(os.path.join(out, "run-guest.exit"), "missing").strip()
    j.check("guest ran every fault to the end", rc == "0" and read(os.path.join(res, "exit-code")).strip() == "0",
            f"run-guest exit {rc}, wall {read(os.path.join(out, 'wall-seconds')).strip()} s")
    boot_trouble = splats(read(os.path.join(res, "dmesg-boot.txt")))
    j.check(f"{SPLATS} at boot", os.path.exists(os.path.join(res, "dmesg-boot.txt")) and not boot_trouble,
            "; ".join(boot_trouble[:2]))

    summary = {}
    for line in read(os.path.join(out, "hostile-faults.txt")).splitlines():
        _, fault, _, label = line.split()
        summary[label] = judge_fault(j, args, os.path.join(res, "hostile", label), fault, label, kernel)

    hx = read(os.path.join(out, "hostile.exit"), "missing").strip()
    sock = read(os.path.join(out, "socket-after-exit")).strip()
    j.check("the hostile device exits 0 (within 30 s) when QEMU exits and removes its socket",
            hx == "0" and sock == "absent", f"exit {hx}, socket {sock}")
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return j.finish(os.path.join(out, "results.json"), "hostile summary")


def judge_fault(j, args, d, fault, label, kernel):
    """The checks of one fault; returns its summary."""
    c = key_values(read(os.path.join(d, "clients.txt")))
    dmesg = read(os.path.join(d, "dmesg.txt"))
    codes = {k: int(v.get("rc", "-1")) for k, v in c.items()}
    dstate = read(os.path.join(d, "dstate.txt")).strip()
    selected = read(os.path.join(d, "selected")).strip()
    summary = {"fault": fault, "clients": c, "seconds": read(os.path.join(d, "seconds")).strip(),
               "rmmod": read(os.path.join(d, "rmmod")).strip(), "insmod": read(os.path.join(d, "insmod")).strip()}
    pre = f"{label}: "
    if not os.path.isdir(d):
        j.check(pre + "ran", False, "no results directory")
        return summary
    hung = {k: v.get("state") for k, v in c.items() if v.get("state") != "exited"}
    j.check(pre + "selected in-band; every client exited within its watchdog limit (0 hung, 0 in D state)",
            selected == "ok" and not hung and not dstate and (c or fault == "config-caps"),
            f"selected {selected}; " + ", ".join(f"{k} {v.get('state')} rc {v.get('rc')} {v.get('secs')} s"
                                                 for k, v in c.items()) + (f"; D state: {dstate}" if dstate else ""))
    clients_ok = all(codes.get(k) == 0 for k in ("all", "capture-mmap", "capture-user"))
    compliance_ok, compliance = judge_compliance(read(os.path.join(d, "compliance.log")), kernel) \
        if fault in ("none", "config-card") else (True, "")
    if fault == "none":
        v = verify_frames(args.sidecar, os.path.join(d, "capture-mmap.raw"), "YUYV", "320x240")
        ok = clients_ok and v.get("ok") and v.get("frames") == CAPTURE_FRAMES
        j.check(pre + f"honest device: clients exit 0, {CAPTURE_FRAMES} frames verified, v4l2-compliance -s: 0 failures "
                f"beyond v4l-utils' recorded false failures on {kernel}", ok and compliance_ok,
                f"exits {codes}, {v.get('frames', 0)} frames, {v.get('verified', 0)} verified; compliance {compliance}")
    elif fault == "config-card":
        nbytes = read(os.path.join(d, "sysfs-name-bytes")).strip()
        j.check(pre + "a 32-byte card with no NUL is cut to 31 bytes; the node works (clients exit 0, v4l2-compliance -s: "
                f"0 failures beyond v4l-utils' recorded false failures on {kernel})",
                nbytes == "32" and clients_ok and compliance_ok,
                f"sysfs name {nbytes} bytes with newline; exits {codes}; compliance {compliance}")
    else:
        name, ok, detail = refusal(fault, c, codes, d)
        missing = [p for p in EXPECT.get(fault, []) if not re.search(p, dmesg)]
        j.check(pre + f"the driver logged all {len(EXPECT.get(fault, []))} expected refusals and {name}", ok and not missing,
                detail + (f"; missing log lines: {missing}" if missing else ""))
    trouble = splats(dmesg)
    j.check(pre + SPLATS + " in dmesg", os.path.exists(os.path.join(d, "dmesg.txt")) and not trouble,
            "; ".join(trouble[:3]))
    rm, ins = read(os.path.join(d, "rmmod")).strip(), read(os.path.join(d, "insmod")).strip()
    j.check(pre + "rmmod exits 0 (no reference left) and insmod loads the module again (exit 0)",
            rm == "0" and ins == "0",
            f"rmmod {rm or 'missing'}, insmod {ins or 'missing'}, refcount before rmmod "
            f"{read(os.path.join(d, 'refcount-before-rmmod')).strip() or '?'}; {summary['seconds']} s")
    return summary


def refusal(fault, c, codes, d):
    """(what the clients must have seen, passed, detail) for a fault the driver must refuse."""
    logs = {k: read(os.path.join(d, f"{k}.log")) for k in c if k != "compliance"}
    dq = dequeued(logs.get("capture-mmap", ""))
    eio = [k for k, t in logs.items() if "Input/output error" in t]
    if fault == "config-caps":
        bound = read(os.path.join(d, "bound")).strip()
        return "the driver did not bind", bound == "refused", f"bound: {bound}"
    if fault in ("huge-bytesused", "bad-events"):
        errs = [f for f in dq if f.error]
        return (f"the stream went on: {CAPTURE_FRAMES} good buffers and at least 1 returned with the ERROR flag, exit 0",
                errs and len(dq) - len(errs) == CAPTURE_FRAMES and codes.get("capture-mmap") == 0,
                f"capture-mmap: {len(dq) - len(errs)} good buffers, {len(errs)} with ERROR, exit {codes.get('capture-mmap')}")
    if fault == "bad-index":
        return (f"the stream went on: all {CAPTURE_FRAMES} buffers dequeued, exit 0",
                len(dq) == CAPTURE_FRAMES and codes.get("capture-mmap") == 0,
                f"capture-mmap: {len(dq)} buffers dequeued despite the bogus events, exit {codes.get('capture-mmap')}")
    if fault == "error-event":
        return ("at least 1 client got EIO (DQBUF after EVT_ERROR)", bool(eio), f"EIO seen by: {', '.join(eio) or 'nobody'}")
    if fault in ("no-answer", "late-answer"):
        waited = [k for k, v in c.items() if float(v.get("secs", "0")) >= COMMAND_TIMEOUT_S]
        return (f"at least 1 client waited out the {COMMAND_TIMEOUT_S} s command timeout and went on", bool(waited),
                f"clients that waited: {', '.join(waited) or 'none'}")
    failed = [k for k, x in codes.items() if x != 0 and k != "compliance"]
    return ("at least 1 client got EIO and at least 1 failed", bool(eio) and bool(failed),
            f"EIO seen by: {', '.join(eio) or 'nobody'}; failed: {', '.join(failed) or 'none'}")


if __name__ == "__main__":
    raise SystemExit(main())
