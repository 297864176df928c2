#!/usr/bin/env python3
"""Host side of the browser phase while the guest runs (tests/e2e/browser.sh starts it).

Follows the guest's serial console for the markers of the page server and the session script ("BROWSER-E2E: <event>
[key=N ...] t=<guest CLOCK_REALTIME ns>", tests/e2e/guest_console.py) and, when the test page asks for it during its
camera-service call, runs
  BROWSER-deny-now   -> CTL deny VM
  BROWSER-allow-now  -> CTL allow VM
recording each step's start and return on the host clock. Writes a JSON timeline (markers, steps) that
tests/e2e/judge_browser.py maps onto the guest clock with judge.clock_offset. Exits when the guest says
"session-end", when --pid exits, or at --timeout; exit status 0 if every step returned 0."""
import argparse
import json
import os
import subprocess
import sys
import time

from guest_console import ConsoleMarkers, now_ns

ACTIONS = {"deny-now": "deny", "allow-now": "allow"}


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--console", required=True, help="the guest's serial console file (run-guest.sh DIR/console.log)")
    p.add_argument("--vm", required=True)
    p.add_argument("--pid", type=int, help="stop following when this process (the guest's launcher) exits")
    p.add_argument("--timeout", type=float, default=1500)
    p.add_argument("--out", required=True, help="timeline JSON to write")
    p.add_argument("ctl", nargs=argparse.REMAINDER,
                   help="after --: the ctl command prefix, e.g. -- dotnet spectrum-camera.dll ctl --operator-socket S")
    args = p.parse_args()
    args.ctl = args.ctl[1:] if args.ctl[:1] == ["--"] else args.ctl
    if not args.ctl:
        p.error("the ctl command goes after --")

    console = ConsoleMarkers(args.console, "BROWSER-E2E")
    steps = []
    ended = False
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not ended:
        new = console.poll()
        for m in new:
            browser, _, request = m["event"].partition("-")
            action = ACTIONS.get(request)
            if action:
                # The page keeps sampling frames while this runs: it waits for its mark request, not for the step.
                start = now_ns()
                proc = subprocess.run(args.ctl + [action, args.vm], capture_output=True, text=True, check=False)
                steps.append({"action": action, "browser": browser, "start_ns": start, "return_ns": now_ns(),
                              "exit": proc.returncode, "stdout": proc.stdout.strip(), "stderr": proc.stderr.strip()})
                print(f"[browser] ctl {action} {args.vm} for {browser}: exit {proc.returncode} after "
                      f"{(steps[-1]['return_ns'] - start) / 1e6:.0f} ms", file=sys.stderr)
            if m["event"] == "session-end":
                ended = True
        if not new and args.pid and not alive(args.pid):
            break
        time.sleep(0.005)

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"vm": args.vm, "ended": ended, "markers": console.markers, "steps": steps}, f, indent=1)
    print(f"[browser] guest {'ended' if ended else 'did NOT end'}; {len(steps)} ctl steps; {len(console.markers)} "
          f"markers", file=sys.stderr)
    return 0 if all(s["exit"] == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
