#!/usr/bin/env bash
# The host-camera end-to-end test: the HostCamera library and 'spectrum-camera cameras' against a real V4L2 driver.
# The build machines have no camera and no kernel modules (they are containers), so the test runs the self-contained
# spectrum-camera inside a QEMU guest with the kernel's vivid driver, which the guest treats as its host camera.
# Writes artifacts/e2e-host-camera/ (every guest file, results.json with one check per line item) and exits non-zero
# if any check failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'USAGE'
Usage: tests/e2e/host-camera.sh [--kernel 6.1|6.12] [--accel tcg|kvm] [--smp N] [--no-publish] [--judge-only]
                                [--service-only]

  --kernel      guest kernel (default 6.1).
  --accel       tcg (default; KVM fails on the build machines) or kvm.
  --smp         guest vCPUs (default 2: the camera service, two sidecars and two frontends run in the guest).
  --no-publish  reuse artifacts/e2e-host-camera/publish/spectrum-camera from an earlier run.
  --judge-only  only judge the guest results already in artifacts/e2e-host-camera/ (after changing the checks).
  --service-only  a development aid: run and judge only the camera-service part (not counted as a full run).

Publishes spectrum-camera self-contained for linux-x64 (single file, trimmed), builds an initramfs with it (and the
shared libraries ldd lists for it) plus tests/e2e/guest/host-camera.sh, boots it with tests/e2e/run-guest.sh (no
virtio-media socket), and judges the guest's results: 'cameras' lists vivid's formats; spectrum-camera-probe streams every
vivid format the guest menu can be fed from with the right sizes and strictly increasing sequence numbers; the mode
selection policy picks an exact and a smallest-larger mode; an unplug (vivid's Disconnect control) is reported as
such and streaming recovers when the device is back; a camera that appears later (vivid reloaded) is picked up.

Then the camera service (tests/e2e/guest/camera-service.sh): 'spectrum-camera camera-service' owns vivid, two
sidecars ('serve --camera-service') run as uids without access to /dev/video*, and spectrum-camera-frontend
(tests/Spectrum.Camera.FrontendTool) plays each VM against its sidecar: every guest format gets vivid's frames, a
size vivid lacks is scaled, two VMs stream at once, and one stream each lives through a deny and allow, an unplug
and replug, and a kill -9 and restart of the service (black meanwhile, never stopping); the camera is open only
while an allowed VM streams. Judged by tests/e2e/judge-camera-service.py.

Then two cameras (tests/e2e/guest/two-cameras.sh): two vivid instances with different pictures owned by one camera
service, a VM on each, one VM moved to the other camera and back while it streams (no black frame, the picture changes
from one frame to the next), and one camera unplugged (only its VM turns black). Judged by
tests/e2e/judge-two-cameras.py.

Output: artifacts/e2e-host-camera/{results.json,guest/,publish/,initrd.img}. Needs the .NET SDK; installs the rest.
USAGE
}

KERNEL=6.1 ACCEL=tcg SMP=2 PUBLISH=1 JUDGE_ONLY=0 SERVICE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) case "${2:-}" in 6.1|6.12) KERNEL="$2" ;; *) usage >&2; exit 2 ;; esac; shift ;;
    --accel) ACCEL="${2:?}"; shift ;;
    --smp) SMP="${2:?}"; shift ;;
    --service-only) SERVICE_ONLY=1 ;;
    --no-publish) PUBLISH=0 ;;
    --judge-only) JUDGE_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/e2e/host-camera.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[e2e-host-camera] %s\n' "$*" >&2; }
OUT="$ROOT/artifacts/e2e-host-camera"
PUB="$OUT/publish"
START=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT/results.json"
if [ "$JUDGE_ONLY" = 0 ]; then
rm -rf "$OUT/guest" "$OUT/initrd.img" "$OUT/service-only"
[ "$SERVICE_ONLY" = 0 ] || touch "$OUT/service-only"

log "building the patched QEMU (cached after the first run)"
QEMU="$("$ROOT/tools/build-qemu.sh" | tail -n 1)"
export QEMU

if [ "$PUBLISH" = 1 ] || [ ! -x "$PUB/spectrum-camera" ] || [ ! -x "$PUB/spectrum-camera-frontend" ] || [ ! -x "$PUB/spectrum-camera-probe" ]; then
    # Own artifacts path: the RID-specific restore must not race a solution build in the same tree.
    # Google.Protobuf (the camera service's protocol) is not annotated for trimming: its summary warning IL2104 would
    # fail the CLI's publish under TreatWarningsAsErrors. Our own assemblies are IsAotCompatible (analysed at build
    # time), and the guest run exercises the trimmed protocol code for real. ReadyToRun: a TCG guest JITs slowly (the
    # camera service took 10-30 s to start without it, with the host loaded).
    rm -rf "$PUB"
    for project in src/Spectrum.Camera.Cli tests/Spectrum.Camera.FrontendTool tests/Spectrum.Camera.CameraProbe; do
        log "publishing $project (self-contained, single file, trimmed, linux-x64)"
        dotnet publish "$ROOT/$project" -c Release -r linux-x64 --self-contained \
            -p:PublishSingleFile=true -p:PublishTrimmed=true -p:SuppressTrimAnalysisWarnings=true -p:PublishReadyToRun=true \
            -p:ArtifactsPath="$OUT/build" -o "$PUB" -nologo -v quiet \
            > "$OUT/publish.log" 2>&1 || { cat "$OUT/publish.log" >&2; log "publish of $project failed"; exit 1; }
    done
fi
BIN="$PUB/spectrum-camera"
FRONTEND="$PUB/spectrum-camera-frontend"
PROBE="$PUB/spectrum-camera-probe"
SETPRIV="$(command -v setpriv || true)"
[ -n "$SETPRIV" ] || { log "setpriv (util-linux) is missing on this host"; exit 1; }

# The guest's base initramfs has the libraries of v4l-utils, ffmpeg and GStreamer; the .NET single-file host also
# needs e.g. librt, and setpriv libcap-ng. Add every library ldd lists for the binaries at its own path (a file
# already in the base is replaced by the same file).
adds=(--add "$BIN:/spectrum/files/spectrum-camera" --add "$FRONTEND:/spectrum/files/spectrum-camera-frontend"
      --add "$PROBE:/spectrum/files/spectrum-camera-probe"
      --add "$SETPRIV:/spectrum/files/setpriv" --add "$HERE/guest/camera-service.sh:/spectrum/files/camera-service.sh"
      --add "$HERE/guest/two-cameras.sh:/spectrum/files/two-cameras.sh")
while read -r lib; do
    [ -n "$lib" ] || continue
    real="$(readlink -f "$lib")"
    case "$lib" in /lib/*) guest="/usr$lib" ;; *) guest="$lib" ;; esac
    adds+=(--add "$real:$guest")
done < <(ldd "$BIN" "$FRONTEND" "$SETPRIV" | awk '/=> \// {print $3}' | sort -u)
log "adding $(( ${#adds[@]} / 2 - 5 )) libraries from ldd"

INITRD="$("$HERE/build-initramfs.sh" --kernel "$KERNEL" --out "$OUT/initrd.img" \
    --script "$HERE/guest/host-camera.sh" "${adds[@]}" | tail -n 1)"

log "booting the $KERNEL guest ($ACCEL)"
rc=0
append=""
[ "$SERVICE_ONLY" = 0 ] || append="spectrum.service_only"
"$HERE/run-guest.sh" --kernel "$KERNEL" --initrd "$INITRD" --out-dir "$OUT/guest" --accel "$ACCEL" --mem 1G \
    --smp "$SMP" --append "$append" --timeout 900 > /dev/null 2> "$OUT/run-guest.log" || rc=$?
echo "$rc" > "$OUT/run-guest.exit"
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "guest exit $rc after $(cat "$OUT/wall-seconds") s; judging"
fi

status=0
if [ -f "$OUT/service-only" ]; then
    echo '{"checks": []}' > "$OUT/results.json"
else
python3 - "$OUT" "$KERNEL" <<'PY' || status=$?
import json
import os
import re
import sys

out, kernel = sys.argv[1], sys.argv[2]
res = os.path.join(out, "guest", "results", "host-camera")
checks = []
prefix = f"host-camera {kernel}: "


def check(name, passed, detail=""):
    checks.append({"name": prefix + name, "passed": bool(passed), "detail": detail})
    print(f"{'PASS' if passed else 'FAIL'}  {prefix}{name}" + (f"  ({detail})" if detail else ""))


def read(name, default=""):
    try:
        with open(os.path.join(res, name), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load(name):
    text = read(name).strip()
    try:
        return json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        return None


def packed_size(fourcc, w, h):
    return {"YUYV": 2 * w * h, "UYVY": 2 * w * h, "NV12": w * h * 3 // 2, "YU12": w * h * 3 // 2}.get(fourcc)


def frames_ok(probe, phase_name, fourcc, w, h, frames):
    """Detail string and verdict: the phase has `frames` frames, each of the packed size, sequence strictly rising."""
    if probe is None:
        return False, "no JSON report"
    phases = {p["name"]: p for p in probe.get("phases", [])}
    p = phases.get(phase_name)
    if p is None:
        return False, f"no '{phase_name}' phase; error: {probe.get('error')}"
    neg = probe.get("negotiated") or {}
    want = packed_size(fourcc, w, h)
    sizes_ok = (want is None and p["min_bytes"] > 0) or (p["min_bytes"] == want and p["max_bytes"] == want)
    ok = (p["frames"] == frames and p["strictly_increasing"] and sizes_ok and p["corrupt"] == 0
          and neg.get("fourcc") == fourcc and neg.get("width") == w and neg.get("height") == h)
    detail = (f"{p['frames']} frames of {p['min_bytes']}..{p['max_bytes']} bytes (want {want}), sequence "
              f"{p['first_sequence']}..{p['last_sequence']} {'rising' if p['strictly_increasing'] else 'NOT rising'}, "
              f"negotiated {neg.get('fourcc')} {neg.get('width')}x{neg.get('height')}@{neg.get('interval')}")
    return ok, detail


guest_rc = read("../exit-code", "missing").strip()
run_rc = open(os.path.join(out, "run-guest.exit")).read().strip()
check("guest script ran to the end", run_rc == "0" and os.path.exists(os.path.join(res, "finished")),
      f"run-guest exit {run_rc}, guest exit {guest_rc}")
check("spectrum-camera runs in the guest (self-contained single file)", read("help.rc").strip() == "0",
      read("help.txt").strip().splitlines()[0] if read("help.txt").strip() else "no output")

none_err = read("cameras-none.err")
check("'cameras' without any camera exits 1 and says what to do",
      read("cameras-none.rc").strip() == "1" and "no video devices" in none_err and "Plug in a camera" in none_err,
      none_err.strip()[:160])

# vivid's formats according to v4l2-ctl, against 'cameras'.
listing = read("v4l2-list-formats-ext.txt")
v4l2_fourccs = re.findall(r"\[\d+\]: '([^']+)'", listing)
scan = load("cameras.json")
cams = (scan or {}).get("cameras", [])
vivid = cams[0] if len(cams) == 1 else None
line = read("cameras.out").strip()
check("'cameras' lists exactly one camera (vivid's capture node; its other nodes are skipped)",
      read("cameras.rc").strip() == "0" and len(cams) == 1 and len(line.splitlines()) == 1
      and len((scan or {}).get("skipped", [])) >= 1,
      f"{len(cams)} camera(s), {len((scan or {}).get('skipped', []))} skipped node(s)")
if vivid:
    fourccs = [f["fourcc"] for f in vivid["formats"]]
    check("'cameras' lists every format v4l2-ctl --list-formats-ext shows",
          len(v4l2_fourccs) > 0 and fourccs == v4l2_fourccs, f"{len(fourccs)} formats: {' '.join(fourccs)}")
    # Every (format, size) -> rates, both ways.
    theirs, fmt, size = {}, None, None
    for l in listing.splitlines():
        if m := re.search(r"\[\d+\]: '([^']+)'", l):
            fmt = m.group(1)
        elif m := re.search(r"Size: Discrete (\d+x\d+)", l):
            size = m.group(1)
            theirs[(fmt, size)] = set()
        elif m := re.search(r"\(([\d.]+) fps\)", l):
            theirs[(fmt, size)].add(round(float(m.group(1)), 3))
    ours = {(f["fourcc"], f"{s['width']}x{s['height']}"): {round(x, 3) for x in s["fps"]}
            for f in vivid["formats"] for s in f["sizes"]}
    diff = [k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k)]
    check("'cameras' lists the same sizes and rates per format as v4l2-ctl",
          len(ours) > 0 and not diff, f"{len(ours)} format x size entries, {sum(len(v) for v in ours.values())} rates"
          + (f"; differ: {sorted(diff, key=str)[:5]}" if diff else ""))
    check("'cameras' shows the by-id and by-path links of the node",
          any("by-id/usb-Spectrum_vivid_Webcam" in l for l in vivid["links"])
          and any("by-path/platform-vivid" in l for l in vivid["links"])
          and "(usb-Spectrum_vivid_Webcam-video-index0, platform-vivid.0-video-index0)" in line, line[:200])
    check("'cameras' line format: node (links) \"card\": FOURCC WxH@fps,...; ...",
          re.fullmatch(r'/dev/video0 \([^)]*\) "[^"]+": YUYV(/[^ /;]+)*( \d+x\d+@[\d.,]+)+(; [^ ;]+( \d+x\d+@[\d.,]+)+)*', line)
          is not None, line[:200])
else:
    check("'cameras' lists every format v4l2-ctl --list-formats-ext shows", False, "no camera in cameras.json")

# Streaming each format the guest menu can be fed from.
offered = [f["fourcc"] for f in vivid["formats"]] if vivid else []
for fourcc in ["YUYV", "UYVY", "NV12", "YU12", "MJPG"]:
    if fourcc not in offered:
        if fourcc == "MJPG":
            check("MJPG: vivid offers no MJPEG (not streamed)", os.path.exists(os.path.join(res, "probe-MJPG.skipped")))
        else:
            check(f"{fourcc}: offered by vivid", False, "missing from 'cameras'")
        continue
    probe = load(f"probe-{fourcc}.json")
    ok, detail = frames_ok(probe, "stream", fourcc, 640, 480, 8)
    written = read(f"probe-{fourcc}.bytes").strip()
    want = packed_size(fourcc, 640, 480)
    ok = ok and read(f"probe-{fourcc}.rc").strip() == "0" and written == str(8 * want)
    check(f"{fourcc} 640x480: 8 frames through the by-id link, right size, rising sequence", ok,
          detail + f", {written} bytes written")

# No allocation per frame: the probe's thread allocated nothing from the first frame's release to the last frame.
allocs = {}
for name in [f"probe-{f}" for f in ["YUYV", "UYVY", "NV12", "YU12"]] + ["select-exact", "unplug", "unplug-dqbuf"]:
    for p in (load(f"{name}.json") or {}).get("phases", []):
        if p["name"] in ("stream", "after-reopen"):
            allocs[f"{name}/{p['name']}"] = p.get("allocated_after_first_frame")
check("streaming allocates nothing per frame (GC bytes on the probe thread after the first frame, every phase: 0)",
      len(allocs) >= 8 and all(v == 0 for v in allocs.values()),
      ", ".join(f"{k} {v}" for k, v in allocs.items() if v != 0) or f"{len(allocs)} phases, all 0")

# Mode selection: an independent oracle of the policy documented in docs/host-camera.md, run on what 'cameras'
# enumerated, must agree with what the probe chose (vivid's interval tables differ between kernels).
RAW = ["YUYV", "NV12", "YU12", "UYVY"]


def oracle(cam, fourcc, w, h, fps):
    best = None
    for f in cam["formats"]:
        if f["fourcc"] not in RAW + ["MJPG", "JPEG"]:
            continue
        rank = 0 if f["fourcc"] == fourcc else (1 + RAW.index(f["fourcc"]) if f["fourcc"] in RAW else 5)
        for s in f["sizes"]:
            rates = s["fps"]
            ok = [r for r in rates if r >= fps - 1e-6]
            r, rate_ok = (min(ok), True) if ok else ((max(rates), False) if rates else (fps, True))
            W, H = s["width"], s["height"]
            area, req = W * H, w * h
            tier = 0 if (W, H) == (w, h) and rate_ok else 1 if W >= w and H >= h and rate_ok else 2
            share = min(1, area / req) * (1 if rate_ok else min(1, r / fps))
            key = (tier, area, rank, W) if tier < 2 else (tier, -share, abs(area - req), -r, rank, W)
            if best is None or key < best[0]:
                best = (key, ["Exact", "ScaleDown", "Nearest"][tier], f["fourcc"], W, H, r)
    return best[1:] if best else None


def chosen(probe):
    sel = (probe or {}).get("selection") or {}
    n, d = (sel.get("interval") or "0/1").split("/")
    return (sel.get("match"), sel.get("fourcc"), sel.get("width"), sel.get("height"),
            round(int(d) / int(n), 3) if int(n) else 0)


for name, (fourcc, w, h, fps), tier, what in [
        ("select-exact", ("YUYV", 640, 480, 25), "Exact", "guest YUYV 640x480@25 -> Exact"),
        ("select-vga30", ("YUYV", 640, 480, 30), None,
         "guest YUYV 640x480@30 -> what the policy says (6.1: Nearest 640x480@25, vivid's 640x480 stops at 25 fps)"),
        ("select-nearest", ("YUYV", 1920, 1080, 60), "Nearest",
         "guest YUYV 1920x1080@60 -> Nearest, the mode with the largest share of the pixel rate"),
        ("select-larger", ("NV12", 320, 240, 15), "ScaleDown",
         "guest NV12 320x240@15 -> ScaleDown NV12 640x360 (smallest larger), via by-path")]:
    probe = load(f"{name}.json")
    expected = oracle(vivid, fourcc, w, h, fps) if vivid else None
    got = chosen(probe)
    ok = expected is not None and got == (expected[0], expected[1], expected[2], expected[3], round(expected[4], 3))
    ok = ok and (tier is None or got[0] == tier)
    if name == "select-larger":
        ok = ok and got[1:4] == ("NV12", 640, 360)
    streamed, detail = frames_ok(probe, "stream", got[1] or "", got[2] or 0, got[3] or 0, 8)
    check(f"mode selection: {what}, and streamed", ok and streamed and read(f"{name}.rc").strip() == "0",
          f"chosen {got}, policy oracle {expected}; {detail}")

# Unplug (vivid Disconnect) and recovery.
unplug = load("unplug.json")
u = unplug or {}
check("unplug: vivid's Disconnect control was set", read("disconnect.rc").strip() == "0", read("disconnect.txt").strip()[:120])
reason = u.get("unplug_reason") or ""
check("unplug: reported as the Unplugged state (ENODEV or POLLERR/POLLHUP), not as an error",
      u.get("unplug_state") == "Unplugged" and ("ENODEV" in reason.upper() or "No such device" in reason or "Error" in reason),
      f"state {u.get('unplug_state')}: {reason}")
log_text = read("unplug.log")
check("unplug: re-opening fails while the device is gone", "reopen failed" in log_text and u.get("reopen_attempts", 0) > 1,
      f"{u.get('reopen_attempts')} attempts; " + next((l for l in log_text.splitlines() if "reopen failed" in l), "")[:160])
gone = read("cameras-gone.err")
check("unplug: 'cameras' reports the node as gone meanwhile", "/dev/video0: the device is gone" in gone, gone.strip()[:160])
ok, detail = frames_ok(unplug, "after-reopen", "YUYV", 640, 480, 8)
before_ok, before = frames_ok(unplug, "stream", "YUYV", 640, 480, 8)
check("unplug: TryReopen brings the camera back (same path, same mode) and it streams again",
      ok and before_ok and u.get("reopened") and read("unplug.rc").strip() == "0" and
      (u.get("reopened_negotiated") or {}).get("fourcc") == "YUYV", f"before: {before}; after: {detail}")
dq = load("unplug-dqbuf.json") or {}
ok, detail = frames_ok(dq, "after-reopen", "NV12", 640, 360, 8)
before_ok, before = frames_ok(dq, "stream", "NV12", 640, 360, 8)
check("unplug seen by DQBUF (no poll, as an epoll owner): Unplugged with ENODEV from VIDIOC_DQBUF, first re-open works",
      ok and before_ok and dq.get("unplug_state") == "Unplugged" and "VIDIOC_DQBUF" in (dq.get("unplug_reason") or "")
      and "errno 19" in (dq.get("unplug_reason") or "") and dq.get("reopen_attempts") == 1 and read("unplug-dqbuf.rc").strip() == "0",
      f"{dq.get('unplug_reason')}; {dq.get('reopen_attempts')} attempt(s); after: {detail}")
dmesg = read("vivid-dmesg.txt")
check("unplug: vivid logged both disconnects and reconnects",
      dmesg.count("disconnect") == 2 and dmesg.count("reconnect") == 2, dmesg.strip().replace("\n", " | ")[:240])

replug = load("replug.json")
r = replug or {}
ok, detail = frames_ok(replug, "stream", "YUYV", 640, 480, 8)
check("replug: a camera absent at start (vivid unloaded) is picked up through its by-id link when it appears",
      ok and read("replug.rc").strip() == "0" and r.get("wait_attempts", 0) > 1 and read("rmmod.rc").strip() == "0",
      f"{r.get('wait_attempts')} attempts; {detail}; error {r.get('error')}")

with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"checks": checks}, f, indent=2)
sys.exit(1 if any(not c["passed"] for c in checks) else 0)
PY
fi
# The two-camera and camera-service checks join results.json; the camera-service judge's last line counts every check.
python3 "$HERE/judge-two-cameras.py" "$OUT" "$KERNEL" || status=$?
python3 "$HERE/judge-camera-service.py" "$OUT" "$KERNEL" || status=$?
exit "$status"
