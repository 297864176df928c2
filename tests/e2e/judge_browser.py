#!/usr/bin/env python3
"""Judges the browser phase (tests/e2e/browser.sh) from its output directory: the test page's reports from Chromium
and Firefox (OUT/guest/results/page-BROWSER.json, written by tests/e2e/guest/browser/camera-test.js), the host
driver's timeline (OUT/timeline.json), PipeWire's nodes and capture (OUT/guest/results/pipewire/), the guest's kernel
log and the exit statuses. Writes OUT/results.json (one check per line item) and OUT/summary.json (the measured
figures); exits 1 if any check failed."""
import argparse
import json
import os
import statistics
import sys

from judge import Judge, clock_offset, describe, load_json, read, splats, verify_frames

SIZES = [(640, 480), (1280, 720)]
RATE = 30

# Thresholds. Each names its cause where the emulated CPU (TCG) sets it.
FRAMES = 10                   # frames the page reads back from each steady capture (browser.sh --frames), over at
#                               least 2 s: under TCG the page draws 1-18 frames a second of the camera's 30 (measured;
#                               docs/e2e-infrastructure.md), so a count, not a time, bounds the sampling.
RATE_TOLERANCE = 0.05         # the pattern's numbers advance 30 a second on the sidecar's clock; the rate is fitted
#                               against the times the browsers say they captured the frames (rVFC captureTime), which
#                               they stamp when they take a buffer from the driver, up to a few frame periods late
#                               under TCG: 29.7-30.0/s measured over 2-5 s captures.
BLACK_MAX = 24                # the page's limit for a black frame (camera-test.js: limited-range luma 16 is RGB 0)
DENY_BLACK_MS = 1000          # a deny turns the call black within a second: no real frame captured later than that
#                               after ctl deny returned (the page draws frames later still: under TCG it has paused up
#                               to 2.7 s between two frames it drew, measured)
ALLOW_REAL_MS = 3000          # an allow brings real frames back: the camera service starts its camera again for the VM
#                               (it is closed while no allowed VM streams); the first pattern frame was captured
#                               26-859 ms after ctl allow returned under TCG (measured in five runs).
REAL_RUN = 10                 # frames in a row of one class that count as "the call is real" or "the call is black"
PW_NODE_SECONDS = 60          # pipewire-check.sh waits this long for WirePlumber's nodes (they came within 2 s)
PW_FRAMES = 30                # frames pipewiresrc captures (browser-session.sh PW_FRAMES)
SPLATS = "0 kernel splats (WARNING, BUG, Oops, call trace, UBSAN, KASAN, refcount_t, hung task, list corruption)"


# ---- the page's frames ---------------------------------------------------------------------------------------------

def when(frame):
    """When the browser took the frame from the camera (Date.now() ms), or when the page drew it if the browser does not
    say (later, so stricter for every check that uses it)."""
    return frame["captured"] if frame.get("captured") is not None else frame["t"]


def number_rate(frames):
    """How fast the test pattern's numbers advance, per second of capture time: the median of the rates between every
    two pattern frames (Theil-Sen), so one frame with a stale capture time does not move it (Chromium stamped the
    first frame of a capture 0.2-0.4 s early in every run, measured). None with fewer than two pattern frames."""
    pts = [(when(f), f["n"]) for f in frames if f["cls"] == "pattern"]
    rates = [1000.0 * (n2 - n1) / (t2 - t1) for i, (t1, n1) in enumerate(pts) for t2, n2 in pts[i + 1:] if t2 != t1]
    return statistics.median(rates) if rates else None


def advancing(nums):
    """(ok, repeats): the test pattern's numbers never go back. A number read twice in a row is the browser drawing one
    camera frame for two frame callbacks: Firefox ESR under TCG ran the callback for presentedFrames 240 and 241 and
    drew frame 10 both times (measured), while the sidecar's own sequence checks (run.sh) show it never sends a frame
    twice. A camera that stalls is caught by the rate check, not here."""
    steps = list(zip(nums, nums[1:]))
    return all(b >= a for a, b in steps), sum(1 for a, b in steps if b == a)


def drawn_fps(frames):
    """Frames a second the page drew (what a video call would show under this CPU)."""
    span = (frames[-1]["t"] - frames[0]["t"]) / 1000.0 if len(frames) > 1 else 0
    return (len(frames) - 1) / span if span > 0 else 0.0


def classes(frames):
    return describe([f["cls"] for f in frames])


def settings_match(step, width, height):
    """(ok, detail): getSettings() reported width x height at RATE fps."""
    s = (step or {}).get("settings") or {}
    fr = s.get("frameRate")
    ok = s.get("width") == width and s.get("height") == height and fr is not None and abs(fr - RATE) < 0.5
    return ok, f"getSettings {s.get('width')}x{s.get('height')} at {fr} fps"


def capabilities(step):
    """A track's capabilities without what names its device (deviceId, groupId): what the device can do."""
    caps = (step or {}).get("capabilities")
    return {k: v for k, v in caps.items() if k not in ("deviceId", "groupId")} if caps else caps


def denied_window(frames, deny_return, allow_start):
    """What the page saw of a deny, by capture time (guest Date.now() ms): the frames captured from ctl deny's return to
    the allow's start, those of them not black later than DENY_BLACK_MS after the return, the first black one, and the
    real ones after it."""
    denied = [f for f in frames if deny_return <= when(f) < allow_start]
    late = [f for f in denied if f["cls"] != "black" and when(f) > deny_return + DENY_BLACK_MS]
    first_black = next((f for f in denied if f["cls"] == "black"), None)
    relapse = [f for f in denied if first_black and when(f) > when(first_black) and f["cls"] != "black"]
    return denied, late, first_black, relapse


def deny_turns_black(frames, deny_return, allow_start):
    """(ok, figures): no frame captured over DENY_BLACK_MS after ctl deny returned is real, none after the first black
    one either, and at least REAL_RUN black frames until the allow."""
    denied, late, first_black, relapse = denied_window(frames, deny_return, allow_start)
    last_real = max((when(f) for f in frames if f["cls"] == "pattern" and when(f) < allow_start), default=None)
    figures = {"last_real_captured_ms": None if last_real is None else round(last_real - deny_return),
               "first_black_captured_ms": first_black and round(when(first_black) - deny_return),
               "first_black_drawn_ms": first_black and round(first_black["t"] - deny_return),
               "black_frames": sum(1 for f in denied if f["cls"] == "black"), "frames": len(denied),
               "classes": classes(denied)}
    ok = first_black is not None and not late and not relapse and figures["black_frames"] >= REAL_RUN
    return ok, figures


def allow_turns_real(frames, allow_start, allow_return):
    """(ok, figures): a pattern frame captured within ALLOW_REAL_MS of ctl allow returning, and from it on every frame
    the pattern with numbers increasing."""
    first = next((f for f in frames if when(f) >= allow_start and f["cls"] == "pattern"), None)
    tail = [f for f in frames if first is not None and when(f) >= when(first)]
    nums = [f["n"] for f in tail if f["cls"] == "pattern"]
    figures = {"first_real_captured_ms": first and round(when(first) - allow_return),
               "first_real_drawn_ms": first and round(first["t"] - allow_return), "classes": classes(tail)}
    forward, figures["repeated"] = advancing(nums)
    ok = first is not None and when(first) - allow_return <= ALLOW_REAL_MS and len(nums) == len(tail) and forward
    return ok, figures


# ---- the checks -----------------------------------------------------------------------------------------------------

def label_of(devices, card):
    """The label of the device whose label is the card name (Chromium appends " (vendor:product)" to USB cameras)."""
    return next((d["label"] for d in devices if d["label"] == card or d["label"].startswith(card + " (")), None)


def judge_browser(j, b, report, outcome, cards, to_guest_ms, steps):
    st = (report or {}).get("steps", {})
    s = {"outcome": outcome.strip(), "userAgent": (report or {}).get("userAgent"), "errors": (report or {}).get("errors")}
    j.check(f"{b}: the page ran every step and posted its report", report is not None and not report.get("errors"),
            f"the session saw {outcome.strip() or 'nothing'} (report, timeout or exited; seconds); errors "
            f"{(report or {}).get('errors')}")

    before = (st.get("enumerate-before-permission") or {}).get("devices") or []
    devices = (st.get("enumerate") or {}).get("devices") or []
    s["labels_before_permission"] = [d["label"] for d in before]
    s["labels"] = [d["label"] for d in devices]
    j.check(f"{b}: once permission is granted, enumerateDevices lists exactly the {len(cards)} cameras, each labelled "
            f"with its card name ({', '.join(repr(x) for x in cards)})",
            all(label_of(devices, c) for c in cards) and len(devices) == len(cards),
            f"labels {s['labels']}; before permission {len(before)} videoinput(s) labelled {s['labels_before_permission']}")

    for w, h in SIZES:
        step = st.get(f"pattern-{w}x{h}") or {}
        ok, detail = settings_match(step, w, h)
        j.check(f"{b}: getUserMedia {w}x{h} on {cards[0]!r} succeeds and getSettings() reports {w}x{h} at {RATE} fps",
                step.get("ok") and ok and step.get("label") == label_of(devices, cards[0]),
                f"{detail}; track {step.get('label')!r}; {step.get('error', '')}".rstrip("; "))
        frames = step.get("frames") or []
        nums = [f["n"] for f in frames if f["cls"] == "pattern"]
        increasing, repeated = advancing(nums)
        rate = number_rate(frames)
        captured = all(f.get("captured") is not None for f in frames)
        s[f"pattern-{w}x{h}"] = {"frames": len(frames), "classes": classes(frames), "drawn_fps": round(drawn_fps(frames), 1),
                                 "number_rate": rate and round(rate, 2), "capture_times": captured,
                                 "numbers": [nums[0], nums[-1]] if nums else None, "repeated": repeated}
        j.check(f"{b}: {w}x{h} frames are the sidecar's test pattern: at least {FRAMES} read back from the pixels, every "
                f"one the pattern, numbers never going back (a frame the browser drew twice is counted) and advancing {RATE}/s within {RATE_TOLERANCE:.0%} of "
                f"capture time (the rate the page draws is stated)",
                len(frames) >= FRAMES and len(nums) == len(frames) and increasing and rate is not None
                and abs(rate - RATE) <= RATE_TOLERANCE * RATE,
                f"{len(frames)} frames {classes(frames)}, numbers {nums[:1]}..{nums[-1:]}, never back {increasing}, drawn twice {repeated}, "
                f"advancing {rate and round(rate, 1)}/s of {'capture' if captured else 'drawing'} time; the page drew "
                f"{drawn_fps(frames):.1f} fps")

    for w, h in SIZES:
        step = st.get(f"black-{w}x{h}") or {}
        ok, detail = settings_match(step, w, h)
        frames = step.get("frames") or []
        same = capabilities(step) == capabilities(st.get(f"pattern-{w}x{h}"))
        peak = max((f["max"] for f in frames), default=None)
        s[f"black-{w}x{h}"] = {"frames": len(frames), "classes": classes(frames), "drawn_fps": round(drawn_fps(frames), 1),
                               "max": peak}
        j.check(f"{b}: {cards[1]!r} (serve --source black, a denied VM) at {w}x{h}: the same settings ({w}x{h} at {RATE} "
                f"fps) and capabilities as the test-pattern camera, and every one of at least {FRAMES} frames black (no "
                f"channel above {BLACK_MAX})",
                step.get("ok") and ok and same and len(frames) >= FRAMES and all(f["cls"] == "black" for f in frames),
                f"{detail}; capabilities {'the same' if same else 'differ: ' + json.dumps(capabilities(step))}; "
                f"{len(frames)} frames {classes(frames)}, brightest channel {peak}; {step.get('error', '')}".rstrip("; "))

    s["service"] = judge_service(j, b, st.get("service") or {}, cards, to_guest_ms, [x for x in steps if x["browser"] == b])
    return s


def judge_service(j, b, step, cards, to_guest_ms, steps):
    w, h = SIZES[0]
    frames = step.get("frames") or []
    deny = next((x for x in steps if x["action"] == "deny"), None)
    allow = next((x for x in steps if x["action"] == "allow"), None)
    ok, detail = settings_match(step, w, h)
    allowed = [f for f in frames if f.get("phase") == "allowed"]
    j.check(f"{b}: camera service: getUserMedia {w}x{h} at {RATE} fps on {cards[2]!r}, the call real ({REAL_RUN} pattern "
            f"frames in a row), then ctl deny and ctl allow during the call both exit 0",
            step.get("ok") and ok and len(allowed) >= REAL_RUN and all(f["cls"] == "pattern" for f in allowed[-REAL_RUN:])
            and deny is not None and allow is not None and deny["exit"] == 0 and allow["exit"] == 0,
            f"{detail}; before the deny {classes(allowed)}; deny exit {deny and deny['exit']}, allow exit "
            f"{allow and allow['exit']}; {step.get('error', '')}".rstrip("; "))
    s = {}
    deny_name = (f"{b}: camera service: ctl deny turns the call black within {DENY_BLACK_MS} ms of returning (no real "
                 f"frame captured later) and it stays black until the allow ({REAL_RUN} black frames)")
    allow_name = (f"{b}: camera service: ctl allow brings the test pattern back within {ALLOW_REAL_MS} ms of returning, "
                  f"every frame after it the pattern with numbers never going back")
    if to_guest_ms is None or deny is None or allow is None:
        j.check(deny_name, False, "no console markers to relate the clocks, or no deny or allow step")
        j.check(allow_name, False, "no console markers to relate the clocks, or no deny or allow step")
    else:
        deny_return = to_guest_ms(deny["return_ns"])
        allow_start, allow_return = to_guest_ms(allow["start_ns"]), to_guest_ms(allow["return_ns"])
        ok, s["deny"] = deny_turns_black(frames, deny_return, allow_start)
        s["deny"]["ctl_ms"] = round((deny["return_ns"] - deny["start_ns"]) / 1e6)
        d = s["deny"]
        j.check(deny_name, ok,
                f"the last real frame captured {d['last_real_captured_ms']} ms after ctl deny returned, the first black "
                f"one {d['first_black_captured_ms']} ms after (the page drew it {d['first_black_drawn_ms']} ms after; "
                f"ctl took {d['ctl_ms']} ms); until the allow {d['classes']}")
        ok, s["allow"] = allow_turns_real(frames, allow_start, allow_return)
        s["allow"]["ctl_ms"] = round((allow["return_ns"] - allow["start_ns"]) / 1e6)
        a = s["allow"]
        j.check(allow_name, ok,
                f"the first pattern frame captured {a['first_real_captured_ms']} ms after ctl allow returned (drawn "
                f"{a['first_real_drawn_ms']} ms after; ctl took {a['ctl_ms']} ms); from it {a['classes']}, drawn twice "
                f"{a['repeated']}")
    events = [e["type"] for e in step.get("events") or []]
    same = step.get("listBefore") is not None and step.get("listBefore") == step.get("listDuring") == step.get("listAfter")
    j.check(f"{b}: camera service: the track stays live through deny and allow (readyState live, no ended event) and the "
            f"device list never changes (the same ids and labels before, during and after; 0 devicechange events)",
            step.get("readyDuring") == "live" and step.get("readyAfter") == "live" and "ended" not in events and same
            and step.get("deviceChanges") == 0,
            f"readyState {step.get('readyDuring')} during, {step.get('readyAfter')} after; track events {events}; "
            f"lists the same {same}; devicechange {step.get('deviceChanges')}")
    return s


def judge_pipewire(j, res, sidecar, cards):
    pw = os.path.join(res, "pipewire")
    sources = [line.split("\t") for line in read(os.path.join(pw, "video-sources.txt")).splitlines() if line]
    named = {c: any(len(x) >= 3 and (x[2] == c or x[2].startswith(c + " (")) for x in sources) for c in cards}
    seconds = read(os.path.join(pw, "nodes-seconds")).strip()
    j.check(f"pipewire: with a session bus, PipeWire and WirePlumber running, each camera is a Video/Source node named "
            f"after its card within {PW_NODE_SECONDS} s", all(named.values()),
            f"{len(sources)} Video/Source nodes after {seconds or '?'} s: {[x[1:3] for x in sources]}")
    raw = os.path.join(pw, "pipewire-640x480.yuyv")
    report = verify_frames(sidecar, raw, "YUYV", "640x480") if os.path.exists(raw) else {"frames": 0, "ok": False}
    gst = read(os.path.join(pw, "gst-launch.exit")).strip()
    brief = {k: v for k, v in report.items() if k not in ("classes", "numbers", "file")}
    j.check(f"pipewire: gst-launch-1.0 pipewiresrc captures {PW_FRAMES} frames of 640x480 YUY2 from the {cards[0]!r} node, "
            f"every one the exact test pattern with numbers increasing (verify-frames)",
            gst == "0" and report.get("ok") and report.get("frames") == PW_FRAMES and report.get("verified") == PW_FRAMES,
            f"node {read(os.path.join(pw, 'capture-node.txt')).strip() or 'none'}; gst-launch exit {gst or 'none'}; "
            f"verify-frames {brief}")
    return {"sources": sources, "nodes_seconds": seconds, "verify": brief}


def main():
    global FRAMES  # the phase's --frames sets the count the checks demand
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--sidecar", required=True, help="spectrum-camera.dll (its verify-frames)")
    p.add_argument("--browsers", default="chromium firefox")
    p.add_argument("--frames", type=int, default=FRAMES, help="frames the page samples per steady capture")
    p.add_argument("--cards", nargs=3, default=["Spectrum Camera", "Spectrum Black", "Spectrum Service"],
                   metavar=("PATTERN", "BLACK", "SERVICE"))
    args = p.parse_args()
    FRAMES = args.frames
    out = args.out
    res = os.path.join(out, "guest", "results")
    j = Judge("browser: ")
    summary = {"wall_seconds": read(os.path.join(out, "wall-seconds")).strip(),
               "versions": read(os.path.join(res, "versions.txt")).splitlines(),
               "timing": read(os.path.join(out, "guest", "timing.txt")).splitlines()}

    ko = os.path.exists(os.path.join(out, "module", "virtio_media_camera.ko"))
    j.check("guest driver builds with 0 warnings", ko and "warning:" not in read(os.path.join(out, "module-build.log")),
            "" if ko else "no .ko")
    timeline = load_json(os.path.join(out, "timeline.json")) or {}
    rc = read(os.path.join(out, "run-guest.exit"), "missing").strip()
    j.check("the guest ran the session to the end and returned its results",
            rc == "0" and read(os.path.join(res, "exit-code")).strip() == "0" and timeline.get("ended"),
            f"run-guest exit {rc}, guest script exit {read(os.path.join(res, 'exit-code')).strip() or 'none'}, "
            f"session-end seen {timeline.get('ended')}, wall {summary['wall_seconds']} s")
    offset = clock_offset(timeline.get("markers") or [])
    to_guest_ms = None if offset is None else (lambda host_ns: (host_ns - offset[0]) / 1e6)
    summary["clock_offset_spread_ms"] = None if offset is None else offset[1] / 1e6
    for b in args.browsers.split():
        summary[b] = judge_browser(j, b, load_json(os.path.join(res, f"page-{b}.json")),
                                   read(os.path.join(res, f"{b}.outcome")), args.cards, to_guest_ms,
                                   timeline.get("steps") or [])
    summary["pipewire"] = judge_pipewire(j, res, args.sidecar, args.cards)

    dmesg = read(os.path.join(res, "dmesg.txt"))
    found = splats(dmesg)
    j.check(f"{SPLATS} in the guest's kernel log", bool(dmesg) and not found,
            "; ".join(found[:3]) if found else ("" if dmesg else "no dmesg"))
    exits = {n: read(os.path.join(out, f"sidecar-{n}.exit")).strip() for n in ("pattern", "black", "service")}
    left = {n: read(os.path.join(out, f"sidecar-{n}.socket-after-exit")).strip() for n in exits}
    service = read(os.path.join(out, "service.exit")).strip()
    j.check("the three sidecars exit 0 when QEMU exits, leaving no socket, and the camera service exits 0 on SIGTERM",
            all(v == "0" for v in exits.values()) and all(v == "absent" for v in left.values()) and service == "0",
            f"sidecars {exits}, sockets {left}, service {service or 'none'}")

    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return j.finish(os.path.join(out, "results.json"), "browser summary")


if __name__ == "__main__":
    sys.exit(main())
