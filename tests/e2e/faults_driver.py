#!/usr/bin/env python3
"""Host side of the fault-injection phase (tests/e2e/faults.sh starts it): starts the camera service, allows the VM,
starts the sidecar on it and the guest, follows the guest's console markers ("FAULTS-E2E: <event> [k=N] t=<guest ns>",
tests/e2e/guest/faults.sh) to inject the faults at the right frames, and records every fact the judge
(tests/e2e/judge_faults.py) needs in OUT/facts.json:
  svc frames>=60       kill -9 of the camera service; a new one starts --down seconds later
  stopcont frames>=45  QMP stop, query-status, 2 s, cont, query-status
After the guest's QEMU exits: the sidecar's exit and what it left in its runtime directory, the service's view of the
VM (ctl status --json), the service's exit on SIGTERM and what it left. Every wait here has a limit; what ran out is
recorded as a fact (a timeout), which fails the check that depends on it."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

from guest_console import ConsoleMarkers, now_ns

VM = "e2e-faults"
KILL_AT_FRAME = 60
STOP_AT_FRAME = 45


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--sidecar", required=True, help="spectrum-camera.dll")
    p.add_argument("--kernel", required=True)
    p.add_argument("--accel", default="tcg")
    p.add_argument("--initrd", required=True)
    p.add_argument("--down", type=float, default=3, help="seconds the camera service stays dead after its kill -9")
    args = p.parse_args()
    out = args.out
    here = os.path.dirname(os.path.abspath(__file__))
    run, state, srun = os.path.join(out, "run"), os.path.join(out, "state"), os.path.join(out, "sidecar-run")
    for d in (run, state, srun, os.path.join(out, "guest")):
        os.makedirs(d, exist_ok=True)
    facts = {"markers": [], "events": [], "timeouts": []}

    def event(name, **kw):
        facts["events"].append({"event": name, "host_ns": now_ns(), **kw})
        print(f"[faults] {name} {kw}", file=sys.stderr, flush=True)

    def ctl(*a):
        r = subprocess.run(["dotnet", args.sidecar, "ctl", "--operator-socket", os.path.join(run, "operator.sock"), *a],
                           capture_output=True, text=True, check=False, timeout=60)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    def wait_socket(path, what, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return True
            time.sleep(0.05)
        facts["timeouts"].append(f"{what}: no socket {os.path.basename(path)} within {seconds} s")
        return False

    services = []

    def start_service():
        log = open(os.path.join(out, f"camera-service-{len(services) + 1}.log"), "w")
        services.append(subprocess.Popen(["dotnet", args.sidecar, "camera-service", "--camera", "test-pattern",
                                          "--vm", f"{VM}:0", "--runtime-dir", run, "--state-dir", state],
                                         stdout=log, stderr=subprocess.STDOUT))

    def qmp(*a):
        r = subprocess.run([os.path.join(here, "qmp.sh"), os.path.join(out, "guest", "qmp.sock"), *a],
                           capture_output=True, text=True, check=False, timeout=30)
        return r.returncode, r.stdout.strip()

    start_service()
    facts["service_started"] = (wait_socket(os.path.join(run, "vms", f"{VM}.sock"), "service 1")
                                and wait_socket(os.path.join(run, "operator.sock"), "service 1"))
    facts["allow"] = ctl("allow", VM)[0]
    sock = os.path.join(srun, "camera.sock")
    side = subprocess.Popen(["dotnet", args.sidecar, "serve", "--socket-path", sock, "--vm", VM,
                             "--camera-service", os.path.join(run, "vms", f"{VM}.sock")],
                            stdout=open(os.path.join(out, "sidecar.log"), "w"), stderr=subprocess.STDOUT)
    wait_socket(sock, "sidecar")
    text = ""
    for _ in range(100):
        _, text, _ = ctl("status", VM, "--json")
        if '"sidecar_connected":true' in text.replace(" ", ""):
            break
        time.sleep(0.1)
    else:
        facts["timeouts"].append("sidecar: not connected to the service within 10 s (ctl status)")
    facts["status_before"] = text

    start = time.monotonic()
    guest = subprocess.Popen([os.path.join(here, "run-guest.sh"), "--kernel", args.kernel, "--initrd", args.initrd,
                              "--out-dir", os.path.join(out, "guest"), "--socket", sock, "--accel", args.accel,
                              "--mem", "1G", "--results-size", "512M", "--timeout", "2400", "--allow-reset"],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(out, "run-guest.log"), "w"))
    console = ConsoleMarkers(os.path.join(out, "guest", "console.log"), "FAULTS-E2E")
    killed = stopped = restarted = False
    restart_due = None
    while guest.poll() is None:
        for m in console.poll():
            frames = m.get("frames", -1)
            if m["event"] == "svc" and frames >= KILL_AT_FRAME and not killed:
                services[-1].send_signal(signal.SIGKILL)
                killed = True
                event("service-killed", frames=frames)
                restart_due = time.monotonic() + args.down
            if m["event"] == "stopcont" and frames >= STOP_AT_FRAME and not stopped:
                rc, _ = qmp("stop")
                stopped = True
                rc2, status = qmp("query-status")
                event("vm-stopped", frames=frames, exit=rc, status=status)
                time.sleep(2)
                rc3, _ = qmp("cont")
                rc4, status2 = qmp("query-status")
                event("vm-continued", exit=rc3, status=status2)
        if restart_due is not None and not restarted and time.monotonic() >= restart_due:
            services[-1].wait()
            start_service()
            restarted = True
            event("service-restarted", sockets=wait_socket(os.path.join(run, "vms", f"{VM}.sock"), "service 2"))
        time.sleep(0.005)

    facts["markers"] = console.markers
    facts["guest_exit"] = guest.returncode
    facts["guest_wall_seconds"] = time.monotonic() - start
    facts["service1_exit_after_kill"] = services[0].wait() if killed else None

    # The VMM has exited: the sidecar follows with exit 0 and leaves nothing in its runtime directory.
    try:
        facts["sidecar_exit"] = side.wait(timeout=30)
    except subprocess.TimeoutExpired:
        side.kill()
        facts["sidecar_exit"] = "timeout"
    facts["sidecar_dir_after"] = sorted(os.listdir(srun))
    svc = services[-1]
    time.sleep(1.5)  # the service notices the sidecar's disconnection on its loop
    facts["service_running_after_vmm_exit"] = svc.poll() is None
    code, text, err = ctl("status", VM, "--json")
    facts["status_after"] = text or err
    facts["status_after_exit"] = code
    svc.send_signal(signal.SIGTERM)
    try:
        facts["service_exit_on_sigterm"] = svc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        svc.kill()
        facts["service_exit_on_sigterm"] = "timeout"
    vms = os.path.join(run, "vms")
    facts["service_runtime_after"] = sorted(os.listdir(run)) + (
        sorted("vms/" + x for x in os.listdir(vms)) if os.path.isdir(vms) else [])
    with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
