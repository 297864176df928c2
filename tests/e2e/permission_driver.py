#!/usr/bin/env python3
"""Host side of the camera-permission phase while the guest captures (tests/e2e/permission.sh starts it).

Follows the guest's serial console file for the guest's markers ("PERM-E2E: <event> [frames=N] t=<guest ns>",
written by tests/e2e/guest/permission.sh and read with tests/e2e/guest_console.py, which notes when each appeared on
the host's CLOCK_MONOTONIC), and runs the 'spectrum-camera ctl' steps of the schedule when the guest's dequeued-frame
count reaches each step's threshold:
  allow@A       when at least A frames were dequeued
  deny@+B       B frames after the previous step was taken
Each step's start and return are recorded on the host clock. Writes a JSON timeline (markers, steps) that
tests/e2e/evaluate.py maps onto the guest clock: the guest clock is the host clock minus an offset, and each marker
gives an upper bound of that offset (it was written before the host saw it), so the smallest is the best estimate.
Exits when the guest says "perm-end", when the guest's launcher (--guest-pid) has exited, or at --timeout; exit status 0 if every step ran and returned 0."""
import argparse
import json
import subprocess
import sys
import time

from guest_console import ConsoleMarkers, now_ns


def parse_schedule(text):
    steps = []
    for part in text.split(","):
        action, _, at = part.partition("@")
        if action not in ("allow", "deny") or not at:
            raise SystemExit(f"permission_driver: bad schedule step '{part}'")
        relative = at.startswith("+")
        steps.append({"action": action, "frames": int(at.lstrip("+")), "relative": relative})
    return steps


def alive(pid):
    """Whether the process still runs (a child that exited but was not reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--console", required=True, help="the guest's serial console file (run-guest.sh DIR/console.log)")
    p.add_argument("ctl", nargs=argparse.REMAINDER,
                   help="after --: the ctl command prefix, e.g. -- dotnet spectrum-camera.dll ctl --operator-socket S")
    p.add_argument("--vm", required=True)
    p.add_argument("--schedule", default="allow@30,deny@+110,allow@+90")
    p.add_argument("--timeout", type=float, default=240)
    p.add_argument("--out", required=True, help="timeline JSON to write")
    p.add_argument("--guest-pid", type=int,
                   help="the guest's launcher (run-guest.sh): once it has exited no marker can come, so stop waiting")
    args = p.parse_args()

    steps = parse_schedule(args.schedule)
    args.ctl = args.ctl[1:] if args.ctl[:1] == ["--"] else args.ctl
    if not args.ctl:
        p.error("the ctl command goes after --")
    console = ConsoleMarkers(args.console, "PERM-E2E")
    taken = []
    pending = None  # (step, Popen, start_ns)
    frames = 0
    last_step_frames = 0
    ended = False
    deadline = time.monotonic() + args.timeout
    gone = False
    while time.monotonic() < deadline and not ended and not gone:
        # Read the console once more after the guest went: its last markers may have come with its exit.
        gone = args.guest_pid is not None and not alive(args.guest_pid)
        for m in console.poll():
            frames = m.get("frames", frames)
            ended = ended or m["event"] == "perm-end"

        if pending is not None:
            step, proc, start = pending
            if proc.poll() is not None:
                out, err = proc.communicate()
                taken.append({"action": step["action"], "start_ns": start, "return_ns": now_ns(), "exit": proc.returncode,
                              "frames_at_start": step["frames_at_start"], "stdout": out.strip(), "stderr": err.strip()})
                print(f"[permission] ctl {step['action']} {args.vm}: exit {proc.returncode} after "
                      f"{(taken[-1]['return_ns'] - start) / 1e6:.0f} ms ({out.strip() or err.strip()})", file=sys.stderr)
                pending = None
        if pending is None and steps and not ended:
            step = steps[0]
            threshold = step["frames"] + (last_step_frames if step["relative"] else 0)
            if frames >= threshold:
                steps.pop(0)
                step["frames_at_start"] = frames
                last_step_frames = frames
                start = now_ns()
                proc = subprocess.Popen(args.ctl + [step["action"], args.vm], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                pending = (step, proc, start)
        time.sleep(0.005)

    if pending is not None:  # the guest ended while a step was running: let it finish
        step, proc, start = pending
        out, err = proc.communicate(timeout=30)
        taken.append({"action": step["action"], "start_ns": start, "return_ns": now_ns(), "exit": proc.returncode,
                      "frames_at_start": step["frames_at_start"], "stdout": out.strip(), "stderr": err.strip()})

    result = {"vm": args.vm, "schedule": args.schedule, "ended": ended, "steps_not_taken": [s["action"] for s in steps],
              "markers": console.markers, "steps": taken}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    ok = ended and not steps and all(s["exit"] == 0 for s in taken)
    print(f"[permission] guest {'ended' if ended else 'exited without perm-end' if gone else 'did NOT end'}; {len(taken)} steps taken, "
          f"{len(steps)} not taken; {len(console.markers)} markers", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
