#!/usr/bin/env python3
"""Host side of the browser phase while the guest runs (tests/e2e/browser.sh starts it).

Follows the guest's serial console file for the guest's markers ("BROWSER-E2E: <event> [k=v]... t=<guest
CLOCK_REALTIME ns>", written by the page server and the session script in the guest) and notes when each appeared on
the host (CLOCK_MONOTONIC). When the test page asks for it during its camera-service call it runs
  deny-now   -> CTL deny VM
  allow-now  -> CTL allow VM
and records each step's start and return on the host clock. Writes a JSON timeline (markers, steps) that
tests/e2e/judge-browser.py maps onto the guest clock: every marker was written before the host saw it, so
host_seen - guest_t is an upper bound of the clock offset and the smallest one is the best estimate; host times
mapped with it are no later than they really were, which errs towards judging the call late to turn black.
Exits when the guest says "session-end", when --pid exits, or at --timeout; exit status 0 if every step returned 0."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

MARK = re.compile(r"BROWSER-E2E: ([a-z0-9-]+)((?: [a-z0-9_-]+=[\w.-]+)*) t=(\d+)")
ACTIONS = {"deny-now": "deny", "allow-now": "allow"}


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


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
    p.add_argument("--pid", type=int, help="stop following when this process (run-guest.sh) exits")
    p.add_argument("--timeout", type=float, default=1500)
    p.add_argument("--out", required=True, help="timeline JSON to write")
    p.add_argument("ctl", nargs=argparse.REMAINDER,
                   help="after --: the ctl command prefix, e.g. -- dotnet spectrum-camera.dll ctl --operator-socket S")
    args = p.parse_args()
    args.ctl = args.ctl[1:] if args.ctl[:1] == ["--"] else args.ctl
    if not args.ctl:
        p.error("the ctl command goes after --")

    markers, steps = [], []
    ended = False
    deadline = time.monotonic() + args.timeout
    buf, pos = b"", 0
    while time.monotonic() < deadline and not ended:
        try:
            with open(args.console, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        seen = now_ns()
        pos += len(chunk)
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            m = MARK.search(raw.decode("utf-8", "replace"))
            if not m:
                continue
            fields = dict(kv.split("=", 1) for kv in m.group(2).split())
            markers.append({"event": m.group(1), "guest_ns": int(m.group(3)), "host_ns": seen, **fields})
            action = ACTIONS.get(m.group(1))
            if action:
                # The page waits for its mark request to return, not for this: it keeps sampling frames meanwhile.
                start = now_ns()
                proc = subprocess.run(args.ctl + [action, args.vm], capture_output=True, text=True, check=False)
                steps.append({"action": action, "browser": fields.get("browser"), "start_ns": start,
                              "return_ns": now_ns(), "exit": proc.returncode, "stdout": proc.stdout.strip(),
                              "stderr": proc.stderr.strip()})
                print(f"[browser] ctl {action} {args.vm} for {fields.get('browser')}: exit {proc.returncode} after "
                      f"{(steps[-1]['return_ns'] - start) / 1e6:.0f} ms", file=sys.stderr)
            if m.group(1) == "session-end":
                ended = True
        if not chunk and args.pid and not alive(args.pid):
            break
        time.sleep(0.005)

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"vm": args.vm, "ended": ended, "markers": markers, "steps": steps}, f, indent=1)
    print(f"[browser] guest {'ended' if ended else 'did NOT end'}; {len(steps)} ctl steps; {len(markers)} markers",
          file=sys.stderr)
    return 0 if all(s["exit"] == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
