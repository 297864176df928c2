"""Follows a guest's serial console for the markers its script writes (tests/e2e/guest/lib.sh, console_mark):
"TAG: <event> [key=N ...] t=<guest CLOCK_MONOTONIC ns>". The host drivers of the permission and fault-injection phases
act on them (a step at a frame count) and keep them, with the host time each was seen, to relate the two clocks."""
import re
import time


def now_ns():
    """The host's CLOCK_MONOTONIC in ns (what the markers' host times and the drivers' step times are on)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class ConsoleMarkers:
    """Reads what a console file gained since the last look and parses the marker lines among it."""

    def __init__(self, path, tag):
        self.path = path
        self.pattern = re.compile(re.escape(tag) + r": ([\w-]+)((?: \w+=-?\d+)*) t=(\d+)")
        self.markers = []
        self._pos = 0
        self._partial = b""

    def poll(self):
        """The markers written since the last call, each {event, guest_ns, host_ns, key: N...}. The host time is taken
        once per read, right after it: no later than the guest wrote them plus the read's own delay."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        seen = now_ns()
        self._pos += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        new = []
        for raw in lines:
            m = self.pattern.search(raw.decode("utf-8", "replace"))
            if not m:
                continue
            fields = {k: int(v) for k, v in (kv.split("=") for kv in m.group(2).split())}
            new.append({"event": m.group(1), "guest_ns": int(m.group(3)), "host_ns": seen, **fields})
        self.markers += new
        return new
