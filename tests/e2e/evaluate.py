#!/usr/bin/env python3
"""Judges an end-to-end run (tests/e2e/run.sh): turns the guests' results into checks.

Writes OUT/summary.json (per compliance run: tests, succeeded, failed, warnings; per client capture: frames
captured and frames verified against the test pattern) and OUT/results.json ({"checks": [{name, passed, detail}]}),
prints one line per check, and exits 1 if any check failed."""
import argparse
import json
import os
import re
import subprocess
import sys

# The one tolerated v4l2-compliance failure: Debian 12's v4l-utils 1.22 has an older table of format descriptions
# than the 6.1 kernel, and the V4L2 core (not the driver) writes this text. Matched exactly, never by a broad filter.
SKEW_FAIL = "fmtdesc.description mismatch: was 'Y/UV 4:2:0', expected 'Y/CbCr 4:2:0'"
SKEW_TEST = "test VIDIOC_ENUM_FMT/FRAMESIZES/FRAMEINTERVALS: FAIL"
FOURCC = {"YUYV", "NV12", "YU12"}
KERNEL_TROUBLE = re.compile(r"(Oops|BUG:|WARNING:|Call Trace|general protection|kernel BUG|use-after-free|KASAN)")

checks = []


def check(name, passed, detail=""):
    checks.append({"name": name, "passed": bool(passed), "detail": detail})
    print(f"{'PASS' if passed else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""))


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def parse_compliance(text):
    m = re.search(r"Total for .*?: (\d+), Succeeded: (\d+), Failed: (\d+), Warnings: (\d+)", text)
    if not m:
        return None
    tests, ok, failed, warnings = map(int, m.groups())
    fail_lines = [l.strip() for l in text.splitlines() if l.strip().startswith("fail:")]
    failed_tests = [l.strip() for l in text.splitlines() if l.strip().endswith(": FAIL")]
    unexplained = [l for l in fail_lines if not l.endswith(SKEW_FAIL)]
    other_tests = [t for t in failed_tests if t != SKEW_TEST]
    tolerated = failed if not unexplained and not other_tests else 0
    return {"tests": tests, "succeeded": ok, "failed": failed, "warnings": warnings,
            "tolerated_failures": tolerated, "unexplained_fail_lines": unexplained[:20], "other_failed_tests": other_tests[:20]}


def verify(sidecar, path, fourcc, size):
    r = subprocess.run(["dotnet", sidecar, "verify-frames", "--format", fourcc, "--size", size, "--json", path],
                       capture_output=True, text=True, check=False)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"frames": 0, "verified": 0, "ok": False, "error": r.stderr.strip()[-300:]}


def evaluate_kernel(args, series, summary):
    d = os.path.join(args.out, series)
    res = os.path.join(d, "guest", "results")
    full = series == "6.1"
    s = summary.setdefault(series, {"compliance": {}, "clients": {}})
    build_log = read(os.path.join(d, "module-build.log"))
    ko = os.path.exists(os.path.join(d, "module", "virtio_media_camera.ko"))
    check(f"{series}: guest driver builds without warnings", ko and "warning:" not in build_log,
          "" if ko else "no .ko (see module-build.log)")
    rc = read(os.path.join(d, "run-guest.exit"), "missing").strip()
    check(f"{series}: guest suite ran to the end", rc == "0" and read(os.path.join(res, "exit-code")).strip() == "0",
          f"run-guest exit {rc}")

    if full:
        boots = read(os.path.join(res, "boot-count"), "0").strip()
        check(f"{series}: {args.reboots} guest reboots on one QEMU and sidecar", boots == str(args.reboots + 1), f"boots {boots}")
        for run in ("plain", "streaming", "formats"):
            c = parse_compliance(read(os.path.join(res, f"compliance-{run}.log")))
            s["compliance"][run] = c
            if c is None:
                check(f"{series}: v4l2-compliance {run}", False, "no summary line (see the log)")
            else:
                bad = c["failed"] - c["tolerated_failures"]
                check(f"{series}: v4l2-compliance {run}: zero failures beyond the documented NV12 description skew",
                      bad == 0, f"{c['succeeded']}/{c['tests']} succeeded, {c['failed']} failed "
                                f"({c['tolerated_failures']} tolerated), {c['warnings']} warnings")
    else:
        c = parse_compliance(read(os.path.join(res, "compliance-plain-info.log")))
        s["compliance"]["plain (informational: v4l-utils 1.22 is too old for 6.12)"] = c

    metas = sorted(f for f in os.listdir(res) if f.endswith(".meta")) if os.path.isdir(res) else []
    for meta in metas:
        name = meta[len("capture-"):-len(".meta")]
        fields = read(os.path.join(res, meta)).split()
        if len(fields) != 5:
            check(f"{series}: capture {name} recorded its outcome", False, f"malformed {meta}: {fields}")
            continue
        tool, fourcc, size, count, code = fields
        v = verify(args.sidecar, os.path.join(res, f"capture-{name}.raw"), fourcc, size)
        s["clients"][name] = {"tool": tool, "format": f"{fourcc} {size}", "requested": int(count),
                              "frames": v.get("frames", 0), "verified": v.get("verified", 0), "exit": int(code)}
        ok = code == "0" and v.get("ok") and v.get("frames") == int(count)
        check(f"{series}: {tool} captured {count} frames {fourcc} {size} ({name}), all verified in order", ok,
              f"exit {code}, {v.get('frames', 0)} frames, {v.get('verified', 0)} verified")
    expected = (3 * 3 + 2 + args.reloads + args.reboots) if full else 3
    check(f"{series}: every planned capture ran", len(metas) == expected, f"{len(metas)} of {expected}")

    trouble = []
    for f in sorted(os.listdir(res)) if os.path.isdir(res) else []:
        if f.startswith("dmesg"):
            trouble += [f"{f}: {l.strip()}" for l in read(os.path.join(res, f)).splitlines() if KERNEL_TROUBLE.search(l)]
    check(f"{series}: no oops, BUG or WARN in the guest kernel log", not trouble, "; ".join(trouble[:3]))
    if full:
        check(f"{series}: module unloads cleanly at the end", read(os.path.join(res, "final-rmmod")).strip() == "ok")
    sx = read(os.path.join(d, "sidecar.exit"), "missing").strip()
    sock = read(os.path.join(d, "socket-after-exit")).strip()
    check(f"{series}: sidecar exits 0 when QEMU exits and leaves no socket", sx == "0" and sock == "absent",
          f"exit {sx}, socket {sock}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--sidecar", required=True)
    p.add_argument("--kernels", nargs="+", required=True)
    p.add_argument("--reloads", type=int, default=10)
    p.add_argument("--reboots", type=int, default=3)
    args = p.parse_args()
    summary = {}
    for k in args.kernels:
        evaluate_kernel(args, k, summary)
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"checks": checks}, f, indent=2)
    failed = sum(1 for c in checks if not c["passed"])
    print(f"e2e summary -- {len(checks) - failed} of {len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
