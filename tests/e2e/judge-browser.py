#!/usr/bin/env python3
"""Judges the browser phase (tests/e2e/browser.sh) from its output directory: the test page's reports from Chromium
and Firefox, the host driver's timeline, PipeWire's dump and capture, the guest's kernel log and the exit statuses.
Writes DIR/results.json (one check per line item; tools/test.sh counts it) and DIR/summary.json (the measured
figures), prints one line per check and exits 1 if any failed."""
import argparse
import json
import os
import re
import subprocess
import sys

SIZES = [(640, 480), (1280, 720)]
RATE = 30
# Any of these in the guest's kernel log is a kernel splat.
SPLAT = re.compile(r"(Oops|BUG:|WARNING:|Call Trace|general protection|kernel BUG|use-after-free|KASAN|UBSAN|"
                   r"refcount_t|sleeping function called|blocked for more than|hung_task|list_add corruption|"
                   r"list_del corruption|double free|Bad page state|Unable to handle)")

# Thresholds. Each names its cause where the emulated CPU (TCG) sets it.
MIN_PAGE_FRAMES = 10          # frames the page reads back from each steady capture (browser.sh --frames); it takes
#                               them as they come, within 30 s: under TCG the page sees 1-5 frames a second of the 30
#                               (see docs/e2e-infrastructure.md), so a count, not a time, bounds the sampling.
NUMBER_RATE_TOLERANCE = 0.05  # the pattern's numbers advance at 30 per second on the sidecar's clock; the slope is
#                               fitted against the browsers' capture times (rVFC captureTime), which they stamp when
#                               they dequeue a buffer: measured 29.3/s in both browsers under TCG (the dequeue falls a
#                               few frames further behind the device during a capture of 10 drawn frames).
BLACK_MAX = 24                # the page's own limit for a black frame (camera-test.js)
DENY_BLACK_MS = 1000          # a deny turns the call black within a second: no real frame captured by the browser later
#                               than that after ctl deny returned (the page may draw the first black frame later still:
#                               under TCG it draws 1-5 frames a second with pauses of up to 2.7 s, measured)
ALLOW_REAL_MS = 3000          # an allow brings real frames back: the camera service restarts its camera for the VM
#                               (the camera is closed while no allowed VM streams): the first pattern frame measured
#                               0.2-0.9 s after ctl allow returned under TCG.
REAL_RUN = 10                 # pattern frames in a row that count as "real frames are flowing"
PW_NODE_SECONDS = 60          # WirePlumber publishes the nodes within this (pipewire-check.sh waits that long)


class Checks:
    def __init__(self):
        self.items = []

    def add(self, name, passed, detail=""):
        self.items.append({"name": name, "passed": bool(passed), "detail": detail})
        print(f"{'PASS' if passed else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""))


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def slope(frames, clock):
    """Least-squares slope of frame number against a frame time in ms ("captured" or the page's "t"), in numbers per
    second (None if under two frames have that time)."""
    pts = [(f[clock] / 1000.0, f["n"]) for f in frames if f.get("cls") == "pattern" and f.get(clock) is not None]
    if len(pts) < 2:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    mn = sum(n for _, n in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (n - mn) for t, n in pts) / den if den else None


def when(frame):
    """When the browser took the frame from the camera (Date.now() ms), or when the page drew it if the browser does not
    say (later, so stricter for every check that uses it)."""
    return frame["captured"] if frame.get("captured") is not None else frame["t"]


def page_fps(frames):
    if len(frames) < 2:
        return 0.0
    span = (frames[-1]["t"] - frames[0]["t"]) / 1000.0
    return (len(frames) - 1) / span if span > 0 else 0.0


def classes(frames):
    counts = {}
    for f in frames:
        counts[f["cls"]] = counts.get(f["cls"], 0) + 1
    return counts


def settings_ok(step, w, h):
    s = (step or {}).get("settings") or {}
    fr = s.get("frameRate")
    return s.get("width") == w and s.get("height") == h and fr is not None and abs(fr - RATE) < 0.5, \
        f"getSettings {s.get('width')}x{s.get('height')} at {fr} fps"


def judge_browser(c, b, report, outcome, cards, clock, steps, summary):
    prefix = f"browser {b}"
    st = (report or {}).get("steps", {})
    s = summary[b] = {"outcome": outcome.strip(), "userAgent": (report or {}).get("userAgent"),
                      "errors": (report or {}).get("errors")}
    c.add(f"{prefix}: the page ran every step and posted its report", report is not None and not report.get("errors"),
          f"outcome {outcome.strip() or 'none'}; errors {(report or {}).get('errors')}")

    before = (st.get("enumerate-before-permission") or {}).get("devices") or []
    after = (st.get("enumerate") or {}).get("devices") or []
    labels = [d["label"] for d in after]
    found = {card: any(l == card or l.startswith(card + " (") for l in labels) for card in cards}
    s["before_permission"] = before
    s["labels"] = labels
    c.add(f"{prefix}: once permission is granted, enumerateDevices lists each camera with its card name "
          f"({', '.join(repr(x) for x in cards)})", all(found.values()) and len(after) == len(cards),
          f"labels {labels}; before permission {len(before)} videoinput(s) with labels {[d['label'] for d in before]}")

    pattern_caps = {}
    for w, h in SIZES:
        step = st.get(f"pattern-{w}x{h}") or {}
        ok, detail = settings_ok(step, w, h)
        c.add(f"{prefix}: getUserMedia {w}x{h} on {cards[0]!r} succeeds and getSettings() reports {w}x{h} at {RATE} fps",
              step.get("ok") and ok and step.get("label") == after_label(after, cards[0]),
              f"{detail}; {step.get('error', '')}".strip("; "))
        pattern_caps[(w, h)] = step.get("capabilities")
        frames = step.get("frames") or []
        pat = [f for f in frames if f["cls"] == "pattern"]
        nums = [f["n"] for f in pat]
        increasing = all(b2 > a for a, b2 in zip(nums, nums[1:]))
        captured = all(f.get("captured") is not None for f in pat)
        rate = slope(frames, "captured" if captured else "t")
        fps = page_fps(frames)
        s[f"pattern-{w}x{h}"] = {"frames": len(frames), "classes": classes(frames), "page_fps": round(fps, 1),
                                 "number_rate": round(rate, 2) if rate else None,
                                 "rate_clock": "captured" if captured else "drawn",
                                 "numbers": [nums[0], nums[-1]] if nums else None}
        c.add(f"{prefix}: {w}x{h} frames are the sidecar's test pattern: at least {MIN_PAGE_FRAMES} read back from the "
              f"pixels, every one the pattern, numbers strictly increasing and advancing at {RATE}/s within "
              f"{NUMBER_RATE_TOLERANCE:.0%} (the rate the page draws is stated)",
              len(frames) >= MIN_PAGE_FRAMES and len(pat) == len(frames) and increasing and rate is not None
              and abs(rate - RATE) <= NUMBER_RATE_TOLERANCE * RATE,
              f"{len(frames)} frames {classes(frames)}, numbers {nums[:1]}..{nums[-1:]}, increasing {increasing}, "
              f"numbers advance {rate and round(rate, 1)}/s on the {'capture' if captured else 'drawing'} times, "
              f"the page drew {fps:.1f} fps")

    for w, h in SIZES:
        step = st.get(f"black-{w}x{h}") or {}
        ok, detail = settings_ok(step, w, h)
        frames = step.get("frames") or []
        black = [f for f in frames if f["cls"] == "black"]
        same_caps = shape(step.get("capabilities")) == shape(pattern_caps.get((w, h)))
        s[f"black-{w}x{h}"] = {"frames": len(frames), "classes": classes(frames), "page_fps": round(page_fps(frames), 1),
                               "max": max((f["max"] for f in frames), default=None)}
        c.add(f"{prefix}: {cards[1]!r} (serve --source black, a denied VM) at {w}x{h}: the same settings ({w}x{h} at "
              f"{RATE} fps) and capabilities as the test-pattern camera, and every one of at least {MIN_PAGE_FRAMES} "
              f"frames black (no channel above {BLACK_MAX})",
              step.get("ok") and ok and same_caps and len(frames) >= MIN_PAGE_FRAMES and len(black) == len(frames),
              f"{detail}; capabilities {'same' if same_caps else 'differ: ' + json.dumps(shape(step.get('capabilities')))}; "
              f"{len(frames)} frames {classes(frames)}, max channel {s[f'black-{w}x{h}']['max']}; {step.get('error', '')}")

    judge_service(c, prefix, st.get("service") or {}, cards, clock, [x for x in steps if x.get("browser") == b], s)


def shape(capabilities):
    """A track's capabilities without what names the device (deviceId, groupId): what it can do."""
    return {k: v for k, v in (capabilities or {}).items() if k not in ("deviceId", "groupId")} if capabilities else capabilities


def after_label(devices, card):
    return next((d["label"] for d in devices if d["label"] == card or d["label"].startswith(card + " (")), None)


def judge_service(c, prefix, step, cards, clock, steps, s):
    w, h = SIZES[0]
    frames = step.get("frames") or []
    deny = next((x for x in steps if x["action"] == "deny"), None)
    allow = next((x for x in steps if x["action"] == "allow"), None)
    ok, detail = settings_ok(step, w, h)
    allowed = [f for f in frames if f.get("phase") == "allowed"]
    c.add(f"{prefix}: camera service: getUserMedia {w}x{h} at {RATE} fps on {cards[2]!r}, the call real "
          f"({REAL_RUN} pattern frames in a row), then ctl deny and ctl allow during the call both exit 0",
          step.get("ok") and ok and len(allowed) >= REAL_RUN and all(f["cls"] == "pattern" for f in allowed[-REAL_RUN:])
          and deny is not None and allow is not None and deny["exit"] == 0 and allow["exit"] == 0,
          f"{detail}; {len(allowed)} frames before the deny {classes(allowed)}; "
          f"deny exit {deny and deny['exit']}, allow exit {allow and allow['exit']}; {step.get('error', '')}")
    if clock is None or deny is None or allow is None:
        c.add(f"{prefix}: camera service: ctl deny turns the call black within {DENY_BLACK_MS} ms of returning and it "
              f"stays black until the allow", False, "no clock mapping or no deny/allow step")
        c.add(f"{prefix}: camera service: ctl allow brings the test pattern back within {ALLOW_REAL_MS} ms of returning",
              False, "no clock mapping or no deny/allow step")
    else:
        deny_ret = clock(deny["return_ns"]) / 1e6
        allow_start = clock(allow["start_ns"]) / 1e6
        allow_ret = clock(allow["return_ns"]) / 1e6
        # Judged by when the browser took each frame from the camera (captured); the page draws them later.
        denied = [f for f in frames if deny_ret <= when(f) < allow_start]
        real_late = [f for f in denied if f["cls"] != "black" and when(f) > deny_ret + DENY_BLACK_MS]
        first_black = next((f for f in denied if f["cls"] == "black"), None)
        real_after_black = [f for f in denied if first_black and when(f) > when(first_black) and f["cls"] != "black"]
        last_real = max((when(f) for f in frames if f["cls"] == "pattern" and when(f) < allow_start), default=None)
        s["deny"] = {"last_real_captured_ms": last_real and round(last_real - deny_ret),
                     "first_black_captured_ms": first_black and round(when(first_black) - deny_ret),
                     "first_black_drawn_ms": first_black and round(first_black["t"] - deny_ret),
                     "ctl_ms": round((deny["return_ns"] - deny["start_ns"]) / 1e6)}
        c.add(f"{prefix}: camera service: ctl deny turns the call black within {DENY_BLACK_MS} ms of returning (no "
              f"real frame captured later) and it stays black until the allow ({REAL_RUN} black frames)",
              first_black is not None and not real_late and not real_after_black
              and sum(1 for f in denied if f["cls"] == "black") >= REAL_RUN,
              f"the last real frame captured {s['deny']['last_real_captured_ms']} ms after ctl deny returned, the first "
              f"black one {s['deny']['first_black_captured_ms']} ms after (drawn by the page "
              f"{s['deny']['first_black_drawn_ms']} ms after; ctl took {s['deny']['ctl_ms']} ms); {len(denied)} frames "
              f"captured until the allow {classes(denied)}")
        first_real = next((f for f in frames if when(f) >= allow_start and f["cls"] == "pattern"), None)
        real_ms = when(first_real) - allow_ret if first_real else None
        tail = [f for f in frames if first_real and when(f) >= when(first_real)]
        nums = [f["n"] for f in tail if f["cls"] == "pattern"]
        s["allow"] = {"first_real_captured_ms": real_ms and round(real_ms),
                      "first_real_drawn_ms": first_real and round(first_real["t"] - allow_ret),
                      "ctl_ms": round((allow["return_ns"] - allow["start_ns"]) / 1e6)}
        c.add(f"{prefix}: camera service: ctl allow brings the test pattern back within {ALLOW_REAL_MS} ms of returning, "
              f"every frame after it the pattern with numbers increasing",
              first_real is not None and real_ms <= ALLOW_REAL_MS and len(nums) == len(tail)
              and all(b > a for a, b in zip(nums, nums[1:])),
              f"the first pattern frame captured {s['allow']['first_real_captured_ms']} ms after ctl allow returned "
              f"(drawn {s['allow']['first_real_drawn_ms']} ms after; ctl took {s['allow']['ctl_ms']} ms); after it "
              f"{classes(tail)}")
    events = [e["type"] for e in step.get("events") or []]
    same = step.get("listBefore") is not None and step.get("listBefore") == step.get("listDuring") == step.get("listAfter")
    c.add(f"{prefix}: camera service: the track stays live through deny and allow (readyState live, no ended event) and "
          f"the device list never changes (same ids and labels before, during, after; no devicechange)",
          step.get("readyDuring") == "live" and step.get("readyAfter") == "live" and "ended" not in events and same
          and step.get("deviceChanges") == 0,
          f"readyState {step.get('readyDuring')}/{step.get('readyAfter')}, track events {events}, lists same {same}, "
          f"devicechange {step.get('deviceChanges')}")


def judge_pipewire(c, out, res, sidecar, cards, summary):
    pw = os.path.join(res, "pipewire")
    sources = [line.split("\t") for line in read(os.path.join(pw, "video-sources.txt")).splitlines() if line]
    named = {card: next((x for x in sources if len(x) >= 3 and (x[2] == card or x[2].startswith(card))), None)
             for card in cards}
    seconds = read(os.path.join(pw, "nodes-seconds")).strip()
    summary["pipewire"] = {"sources": sources, "nodes_seconds": seconds}
    c.add(f"pipewire: with a session bus, PipeWire and WirePlumber running, each camera is a Video/Source node named "
          f"after its card within {PW_NODE_SECONDS} s", all(named.values()),
          f"{len(sources)} Video/Source nodes after {seconds or '?'} s: {[x[1:3] for x in sources]}")
    raw = os.path.join(pw, "pipewire-640x480.yuyv")
    frames = 30
    report = {}
    if os.path.exists(raw):
        p = subprocess.run(["dotnet", sidecar, "verify-frames", "--format", "YUYV", "--size", "640x480",
                            "--min-frames", str(frames), "--json", raw], capture_output=True, text=True, check=False)
        try:
            report = json.loads(p.stdout)
        except ValueError:
            report = {"error": (p.stdout + p.stderr)[-300:]}
        report["exit"] = p.returncode
    summary["pipewire"]["verify"] = {k: v for k, v in report.items() if k not in ("classes", "numbers")}
    c.add(f"pipewire: gst-launch-1.0 pipewiresrc captures {frames} frames of 640x480 YUY2 from the {cards[0]!r} node and "
          f"every one is the exact test pattern, numbers increasing (verify-frames)",
          read(os.path.join(pw, "gst-launch.exit")).strip() == "0" and report.get("exit") == 0,
          f"node {read(os.path.join(pw, 'capture-node.txt')).strip() or 'none'}; gst-launch exit "
          f"{read(os.path.join(pw, 'gst-launch.exit')).strip() or 'none'}; verify-frames "
          f"{ {k: v for k, v in report.items() if k not in ('classes', 'numbers')} }")


def main():
    global MIN_PAGE_FRAMES  # the phase's --frames sets the count the checks demand
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--sidecar", required=True, help="spectrum-camera.dll (for verify-frames)")
    p.add_argument("--browsers", default="chromium firefox")
    p.add_argument("--frames", type=int, default=MIN_PAGE_FRAMES, help="frames the page samples per steady capture")
    p.add_argument("--cards", nargs=3, required=True, metavar=("PATTERN", "BLACK", "SERVICE"))
    args = p.parse_args()
    MIN_PAGE_FRAMES = args.frames
    out = args.out
    res = os.path.join(out, "guest", "results")
    c = Checks()
    summary = {"wall_seconds": read(os.path.join(out, "wall-seconds")).strip(),
               "versions": read(os.path.join(res, "versions.txt")).splitlines(),
               "timing": read(os.path.join(out, "guest", "timing.txt")).splitlines()}

    c.add("browser guest: the module builds without warnings",
          os.path.exists(os.path.join(out, "module", "virtio_media_camera.ko"))
          and "warning:" not in read(os.path.join(out, "module-build.log")))
    timeline = load_json(os.path.join(out, "timeline.json")) or {}
    markers = timeline.get("markers") or []
    c.add("browser guest: the guest ran the session to the end and returned its results",
          read(os.path.join(res, "exit-code")).strip() == "0" and timeline.get("ended"),
          f"run-guest exit {read(os.path.join(out, 'run-guest.exit')).strip() or 'none'}, guest script exit "
          f"{read(os.path.join(res, 'exit-code')).strip() or 'none'}, session-end seen {timeline.get('ended')}, "
          f"wall {summary['wall_seconds']} s")
    # Guest realtime (page and marks) to host monotonic: each marker bounds the offset from above.
    offsets = [m["host_ns"] - m["guest_ns"] for m in markers]
    clock = None
    if offsets:
        best = min(offsets)
        clock = lambda host_ns: host_ns - best  # noqa: E731 (host monotonic ns -> guest realtime ns)
    browsers = args.browsers.split()
    for b in browsers:
        judge_browser(c, b, load_json(os.path.join(res, f"page-{b}.json")), read(os.path.join(res, f"{b}.outcome")),
                      args.cards, clock, timeline.get("steps") or [], summary)
    judge_pipewire(c, out, res, args.sidecar, args.cards, summary)

    dmesg = read(os.path.join(res, "dmesg.txt"))
    splats = [line for line in dmesg.splitlines() if SPLAT.search(line)]
    c.add("browser guest: no oops, BUG, WARN or other splat in the guest's kernel log",
          bool(dmesg) and not splats, "; ".join(splats[:3]) if splats else ("" if dmesg else "no dmesg"))
    exits = {n: read(os.path.join(out, f"sidecar-{n}.exit")).strip() for n in ("pattern", "black", "service")}
    service = read(os.path.join(out, "service.exit")).strip()
    c.add("browser guest: the three sidecars exit 0 when QEMU exits and the camera service exits 0 on SIGTERM",
          all(v == "0" for v in exits.values()) and service == "0", f"sidecars {exits}, service {service or 'none'}")

    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"checks": c.items}, f, indent=1)
    failed = sum(1 for x in c.items if not x["passed"])
    print(f"browser summary -- {len(c.items) - failed} of {len(c.items)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
