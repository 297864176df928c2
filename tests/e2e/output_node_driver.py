#!/usr/bin/env python3
"""Host side of the output-node phase while the camera VM runs (tests/e2e/output-node.sh starts it).

Runs the consumer: spectrum-camera-frontend playing a VM against the consumer's sidecar, one stream that runs until
the phase ends (its control FIFO is closed then), its JSON lines kept in --frames. Follows the camera VM's console for
the guest's markers ("OUTPUT-E2E: <event> t=<guest ns>", tests/e2e/guest/output-node.sh) and, for the events
allow / agent-allow and deny / agent-deny, runs 'spectrum-camera ctl allow|deny VM': an allowed, streaming consumer
makes the camera service want the camera VM's frames. Writes a JSON timeline (the frontend's start, the markers and
the steps, on the host's CLOCK_MONOTONIC) for tests/e2e/judge_output_node.py. Exits when the guest says "end", or at
--timeout; exit status 0 if every step ran and returned 0 and the frontend exited 0."""
import argparse
import json
import os
import subprocess
import sys
import time

from guest_console import ConsoleMarkers, now_ns

ACTIONS = {"allow": "allow", "agent-allow": "allow", "deny": "deny", "agent-deny": "deny"}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--console", required=True, help="the camera VM's serial console file")
    p.add_argument("--vm", required=True, help="the consumer VM's name at the camera service")
    p.add_argument("--frontend", required=True, help="the frontend command, one string (split on spaces)")
    p.add_argument("--fifo", required=True, help="the frontend's control FIFO (created here)")
    p.add_argument("--frames", required=True, help="where the frontend's JSON lines go")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--out", required=True, help="timeline JSON to write")
    p.add_argument("ctl", nargs=argparse.REMAINDER, help="after --: the ctl command prefix")
    args = p.parse_args()
    ctl = args.ctl[1:] if args.ctl[:1] == ["--"] else args.ctl
    if not ctl:
        p.error("the ctl command goes after --")

    if os.path.exists(args.fifo):
        os.unlink(args.fifo)
    os.mkfifo(args.fifo)
    frames = open(args.frames, "w", encoding="utf-8")
    frontend_start = now_ns()
    frontend = subprocess.Popen(args.frontend.split() + ["--control-fifo", args.fifo], stdout=frames,
                                stderr=subprocess.PIPE, text=True)
    # Opening the FIFO for writing waits for the frontend to open it for reading; closing it ends its stream.
    control = open(args.fifo, "w", encoding="utf-8")

    console = ConsoleMarkers(args.console, "OUTPUT-E2E")
    steps = []
    ended = False
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not ended and frontend.poll() is None:
        for m in console.poll():
            ended = ended or m["event"] == "end"
            action = ACTIONS.get(m["event"])
            if action is None:
                continue
            start = now_ns()
            r = subprocess.run(ctl + [action, args.vm], capture_output=True, text=True, check=False)
            steps.append({"event": m["event"], "action": action, "start_ns": start, "return_ns": now_ns(),
                          "exit": r.returncode, "output": (r.stdout + r.stderr).strip()})
            print(f"[output-node] {m['event']}: ctl {action} {args.vm}: exit {r.returncode} "
                  f"after {(steps[-1]['return_ns'] - start) / 1e6:.0f} ms", file=sys.stderr)
        time.sleep(0.05)

    control.close()
    try:
        _, err = frontend.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        frontend.kill()
        _, err = frontend.communicate()
    frames.close()
    timeline = {"frontend_start_ns": frontend_start, "markers": console.markers, "steps": steps,
                "ended": ended, "frontend_exit": frontend.returncode, "frontend_stderr": err.strip()}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(timeline, f, indent=1)
    ok = ended and frontend.returncode == 0 and all(s["exit"] == 0 for s in steps)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
