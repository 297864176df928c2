#!/usr/bin/env bash
# Send one QMP command to a running guest started by run-guest.sh.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: tests/e2e/qmp.sh [--wait SECONDS] SOCKET COMMAND [ARGUMENTS-JSON]

Connects to the QMP unix socket (run-guest.sh creates OUT-DIR/qmp.sock), negotiates capabilities,
runs COMMAND with the optional JSON arguments object and prints the "return" value as JSON on stdout.
Asynchronous events received meanwhile are printed on stderr. Exit status 1 if QEMU answers with an
error, 2 on usage or connection errors.
  --wait S   keep retrying the connection for up to S seconds (default 10), for a guest still starting.

Examples:
  tests/e2e/qmp.sh OUT/qmp.sock query-status        # {"running": true, "status": "running", ...}
  tests/e2e/qmp.sh OUT/qmp.sock stop
  tests/e2e/qmp.sh OUT/qmp.sock cont
  tests/e2e/qmp.sh OUT/qmp.sock system_reset          # needs run-guest.sh --allow-reset
  tests/e2e/qmp.sh OUT/qmp.sock human-monitor-command '{"command-line": "info pci"}'
Only one QMP client can be connected to the socket at a time.
EOF
}

WAIT=10
while [[ $# -gt 0 ]]; do
    case "$1" in
        --wait) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; WAIT="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) break ;;
    esac
done
[[ $# -ge 2 && $# -le 3 ]] || { usage >&2; exit 2; }

exec /usr/bin/python3 - "$WAIT" "$@" <<'PY'
import json, socket, sys, time

wait, path, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3]
args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None

deadline = time.time() + wait
while True:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        break
    except OSError as e:
        s.close()
        if time.time() >= deadline:
            print(f"[qmp] cannot connect to {path}: {e}", file=sys.stderr)
            sys.exit(2)
        time.sleep(0.2)
f = s.makefile("rw")

def read_reply():
    while True:
        line = f.readline()
        if not line:
            print("[qmp] connection closed by QEMU", file=sys.stderr)
            sys.exit(2)
        msg = json.loads(line)
        if "event" in msg:
            print("[qmp] event: " + json.dumps(msg), file=sys.stderr)
            continue
        return msg

greeting = json.loads(f.readline())
if "QMP" not in greeting:
    print(f"[qmp] unexpected greeting: {greeting}", file=sys.stderr)
    sys.exit(2)
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
read_reply()
req = {"execute": cmd}
if args is not None:
    req["arguments"] = args
f.write(json.dumps(req) + "\n"); f.flush()
reply = read_reply()
if "error" in reply:
    print(json.dumps(reply["error"]), file=sys.stderr)
    sys.exit(1)
print(json.dumps(reply.get("return")))
PY
