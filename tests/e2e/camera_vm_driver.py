#!/usr/bin/env python3
"""Host side of the camera-VM phase while both guests run (tests/e2e/camera-vm.sh starts it).

Follows both guests' serial consoles for their markers (tests/e2e/guest/camera-vm-producer.sh and
camera-vm-consumer.sh, read with guest_console.py, which notes when each appeared on the host's CLOCK_MONOTONIC),
commands each guest over its host channel (a QEMU socket chardev that is the guest's /dev/ttyS1) and runs the
operator's 'spectrum-camera ctl allow|deny' for the consumer VM. The scenario, each step waiting for what the guests
report, never for a fixed time except the idle windows:

  idle-1       both guests ready, nobody streams: 5 s in which the camera VM must not want frames or open vivid
  pattern      the consumer captures YUYV 320x240 (denied: black); allow once 20 frames are in; deny once the
               camera VM's known-pattern pipeline has run for 90 frames; allow once it stopped and 30 more frames are
               in; stop the capture once the pipeline runs again and 90 more frames are in
  idle-2       the camera VM's agent switches to its default pipeline (ffmpeg from vivid); 5 s of nobody streaming
  vivid        the consumer captures NV12 320x240 (allowed); once ffmpeg has vivid open and 90 frames are in, kill -9
               ffmpeg in the camera VM; once the agent restarted it and 90 more frames are in, deny; once vivid is
               closed and 30 more frames are in, stop the capture
  idle-3       5 s of nobody streaming; then both guests end

Writes a JSON timeline (both guests' markers, every step with its host time, the consumer's frame count then and the
camera VM's last state) that tests/e2e/judge_camera_vm.py judges. Exits when the scenario ended or a wait timed out
(the timeline says which); exit status 0 if every step was taken and every ctl returned 0."""
import argparse
import json
import socket
import subprocess
import sys
import time

from guest_console import ConsoleMarkers, now_ns

IDLE_SECONDS = 5


class Guest:
    """One guest: its console markers and its host channel."""

    def __init__(self, name, console, control, tag):
        self.name = name
        self.console = ConsoleMarkers(console, tag)
        self.control = control
        self._socket = None

    def send(self, command):
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._socket.connect(self.control)
        self._socket.sendall((command + "\n").encode())

    def close(self):
        if self._socket is not None:
            self._socket.close()


class Scenario:
    def __init__(self, producer, consumer, ctl, vm, log):
        self.producer = producer
        self.consumer = consumer
        self.ctl = ctl
        self.vm = vm
        self.log = log
        self.steps = []
        self.frames = 0            # buffers the consumer's current capture has dequeued
        self.state = {}            # the camera VM's last state marker
        self.events = []           # every marker of both guests, as polled: (guest, marker)

    def poll(self):
        for guest in (self.producer, self.consumer):
            for m in guest.console.poll():
                self.events.append((guest.name, m))
                if guest is self.consumer and m["event"].endswith("-ready"):
                    self.frames = 0  # a new capture counts from 0
                if guest is self.consumer and "frames" in m:
                    self.frames = m["frames"]
                if guest is self.producer and m["event"] == "state":
                    self.state = m

    def step(self, name, **detail):
        record = {"step": name, "host_ns": now_ns(), "consumer_frames": self.frames,
                  "camvm_state": {k: self.state.get(k) for k in ("wanted", "vivid", "pipeline", "pid")}, **detail}
        self.steps.append(record)
        print(f"[camera-vm] {name}: consumer frames {self.frames}, camera VM {record['camvm_state']}"
              + (f", {detail}" if detail else ""), file=self.log, flush=True)
        return record

    def wait(self, what, condition, timeout):
        """Polls both consoles until `condition()` holds; raises TimeoutError naming `what` otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if condition():
                return
            time.sleep(0.05)
        raise TimeoutError(f"{what} (within {timeout} s)")

    def seen(self, guest, event, **keys):
        """Whether `guest` wrote the marker `event` (with these keys) since the scenario started."""
        return any(g == guest.name and m["event"] == event and all(m.get(k) == v for k, v in keys.items())
                   for g, m in self.events)

    def frames_past(self, count):
        start = self.frames
        return lambda: self.frames >= start + count

    def run_ctl(self, action):
        """ctl ACTION VM, recorded as step ctl-ACTION#N (the Nth of its kind) with the frame count before it began."""
        start = now_ns()
        r = subprocess.run(self.ctl + [action, self.vm], capture_output=True, text=True, check=False, timeout=60)
        n = sum(1 for s in self.steps if s["step"].startswith(f"ctl-{action}#")) + 1
        self.step(f"ctl-{action}#{n}", exit=r.returncode, start_ns=start, output=(r.stdout + r.stderr).strip()[-300:])
        if r.returncode != 0:
            raise RuntimeError(f"ctl {action} {self.vm} exited {r.returncode}: {(r.stdout + r.stderr).strip()}")

    def idle(self, name):
        self.step(f"{name}-start")
        deadline = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
        self.step(f"{name}-end")

    def run(self, boot_timeout):
        p, c = self.producer, self.consumer
        self.wait("the camera VM's agent started", lambda: self.seen(p, "agent-ready", mode=1), boot_timeout)
        self.wait("the consumer VM ready", lambda: self.seen(c, "ready"), boot_timeout)
        self.wait("the camera VM's first state", lambda: bool(self.state), 30)
        self.idle("idle-1")

        # The known pattern: denied (black), allowed, denied, allowed.
        c.send("capture pattern YUYV 320x240")
        self.wait("the consumer's pattern capture started", lambda: self.seen(c, "pattern-ready"), 60)
        self.step("pattern-capture")
        self.wait("20 frames of the pattern capture", lambda: self.frames >= 20, 90)
        self.run_ctl("allow")
        self.wait("the camera VM's pattern pipeline runs", lambda: self.state.get("pipeline") == 1, 90)
        self.step("pattern-pipeline-running")
        self.wait("90 more frames", self.frames_past(90), 120)
        self.run_ctl("deny")
        self.wait("the camera VM's pattern pipeline stopped", lambda: self.state.get("pipeline") == 0, 90)
        self.step("pattern-pipeline-stopped")
        self.wait("30 more frames", self.frames_past(30), 90)
        self.run_ctl("allow")
        self.wait("the camera VM's pattern pipeline runs again", lambda: self.state.get("pipeline") == 1, 90)
        self.step("pattern-pipeline-running-again")
        self.wait("90 more frames", self.frames_past(90), 120)
        c.send("stop")
        self.wait("the consumer's pattern capture ended", lambda: self.seen(c, "pattern-end"), 60)
        self.step("pattern-capture-ended")

        # vivid through the agent's own pipeline: killed and restarted, then denied.
        self.wait("the camera VM's pattern pipeline stopped after the capture",
                  lambda: self.state.get("pipeline") == 0 and self.state.get("wanted") == 0, 60)
        p.send("agent vivid")
        self.wait("the camera VM's agent restarted with ffmpeg from vivid", lambda: self.seen(p, "agent-ready", mode=2), 60)
        self.idle("idle-2")
        c.send("capture vivid NV12 320x240")
        self.wait("the consumer's vivid capture started", lambda: self.seen(c, "vivid-ready"), 60)
        self.step("vivid-capture")
        self.wait("ffmpeg has vivid open", lambda: self.state.get("pipeline") == 2 and self.state.get("vivid", 0) > 0, 120)
        first = self.step("vivid-pipeline-running")
        self.wait("90 more frames", self.frames_past(90), 120)
        self.step("vivid-pipeline-kill")  # before the command: every frame counted so far came before the kill
        p.send("kill-pipeline")
        self.wait("the camera VM killed ffmpeg", lambda: self.seen(p, "killed"), 30)
        self.step("vivid-pipeline-killed")
        killed = first["camvm_state"]["pid"]
        self.wait("the agent restarted ffmpeg and it has vivid open",
                  lambda: self.state.get("pipeline") == 2 and self.state.get("pid") != killed and self.state.get("vivid", 0) > 0, 120)
        self.step("vivid-pipeline-restarted")
        self.wait("90 more frames", self.frames_past(90), 120)
        self.run_ctl("deny")
        self.wait("vivid closed after the deny", lambda: self.state.get("vivid") == 0 and self.state.get("pipeline") == 0, 90)
        self.step("vivid-closed")
        self.wait("30 more frames", self.frames_past(30), 90)
        c.send("stop")
        self.wait("the consumer's vivid capture ended", lambda: self.seen(c, "vivid-end"), 60)
        self.step("vivid-capture-ended")
        self.idle("idle-3")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--producer-console", required=True)
    p.add_argument("--producer-control", required=True, help="the camera VM's host-channel socket")
    p.add_argument("--consumer-console", required=True)
    p.add_argument("--consumer-control", required=True, help="the consumer VM's host-channel socket")
    p.add_argument("--vm", required=True, help="the consumer VM's name for ctl")
    p.add_argument("--boot-timeout", type=float, default=240)
    p.add_argument("--out", required=True, help="timeline JSON to write")
    p.add_argument("ctl", nargs=argparse.REMAINDER, help="after --: the ctl command prefix")
    args = p.parse_args()
    args.ctl = args.ctl[1:] if args.ctl[:1] == ["--"] else args.ctl
    if not args.ctl:
        p.error("the ctl command goes after --")

    producer = Guest("camvm", args.producer_console, args.producer_control, "CAMVM-PRODUCER")
    consumer = Guest("consumer", args.consumer_console, args.consumer_control, "CAMVM-CONSUMER")
    scenario = Scenario(producer, consumer, args.ctl, args.vm, sys.stderr)
    failure = None
    try:
        scenario.run(args.boot_timeout)
    except (TimeoutError, RuntimeError, OSError) as e:
        failure = f"{type(e).__name__}: {e}"
        print(f"[camera-vm] stopped: {failure}", file=sys.stderr, flush=True)
    for guest in (consumer, producer):
        try:
            guest.send("end")
        except OSError as e:
            print(f"[camera-vm] could not tell the {guest.name} guest to end: {e}", file=sys.stderr)
        guest.close()
    scenario.poll()
    result = {"failure": failure, "steps": scenario.steps,
              "markers": {"camvm": producer.console.markers, "consumer": consumer.console.markers}}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
