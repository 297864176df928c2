#!/usr/bin/env bash
# The DKMS package, end to end: built from a clean clone and installed in a freshly bootstrapped Debian 12 root with
# the Debian 6.1 headers, then the module DKMS built there is booted in the end-to-end guest. Writes
# artifacts/packaging-dkms/ (every log, results.json with one check per line item, summary.json with the wall time)
# and exits non-zero if any check failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
    cat <<'USAGE'
Usage: tests/packaging/dkms-check.sh [--out DIR] [--accel tcg|kvm]

Runs as root (the fresh root is a chroot), under the machine's QEMU lock like the end-to-end scripts:
  flock /tmp/spectrum-e2e.lock tests/packaging/dkms-check.sh

  1. In a fresh Debian 12 minbase root without the .NET SDK (tests/packaging/fresh-root.sh --no-dotnet; a clean
     clone of HEAD, so commit first): builds the package with tools/build-dkms-deb.sh, installs it with apt next to
     linux-headers-KVER (KVER: the end-to-end guest's 6.1 kernel, from tools/fetch-guest-kernel.sh), records dkms
     status, DKMS's make.log and the module, runs lintian on the package, and removes the package
     (tests/packaging/dkms-in-root.sh).
  2. Boots the end-to-end guest (tests/e2e/build-initramfs.sh, tests/e2e/run-guest.sh) on the Release sidecar with
     the module DKMS built: it must load, bind the device and capture 10 frames the host verifies.

  --out DIR            output directory (default artifacts/packaging-dkms; emptied first)
  --accel tcg|kvm      QEMU accelerator for the guest (default tcg)

Checks (results.json): the package builds in the fresh root; apt installs it with the 6.1 headers and dkms status
says installed for that kernel; DKMS's build has no compiler warning; the module's vermagic is the guest kernel's;
lintian reports no error; removing the package removes the module; the guest loads that very module (same GNU
build ID), binds the device and captures 10 verified frames.
USAGE
}

OUT="$ROOT/artifacts/packaging-dkms" ACCEL=tcg
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT="${2:?}"; shift ;;
    --accel) ACCEL="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/packaging/dkms-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
log() { printf '[dkms-check] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "tests/packaging/dkms-check.sh: run as root (the fresh root is a chroot)" >&2; exit 2; }

rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
START=$(date +%s)
cd "$ROOT"
[ -z "$(git status --porcelain --untracked-files=no)" ] \
    || log "the working tree has uncommitted changes: the fresh root builds the committed HEAD ($(git rev-parse --short HEAD))"

log "resolving the end-to-end guest's 6.1 kernel"
eval "$(tools/fetch-guest-kernel.sh --no-headers 6.1)"
echo "$KVER" > "$OUT/kver.txt"

log "building and installing the package in a fresh Debian 12 root (tests/packaging/fresh-root.sh; a few minutes)"
rc=0
tests/packaging/fresh-root.sh --no-dotnet --timeout 1200 --log "$OUT/fresh-root.log" \
    --collect artifacts/packaging-dkms-root -- bash tests/packaging/dkms-in-root.sh "$KVER" > /dev/null 2>&1 || rc=$?
echo "$rc" > "$OUT/fresh-root.exit"
[ -d "$OUT/packaging-dkms-root" ] && mv "$OUT/packaging-dkms-root" "$OUT/root"
echo "$(( $(date +%s) - START ))" > "$OUT/fresh-root-seconds"

KO="$(ls "$OUT"/root/virtio_media_camera.ko* 2>/dev/null | head -n 1 || true)"
if [ -n "$KO" ]; then
    if [[ "$KO" == *.xz ]]; then xz -dc "$KO" > "$OUT/virtio_media_camera.ko"; KO="$OUT/virtio_media_camera.ko"; fi
    readelf -n "$KO" | sed -n 's/^ *Build ID: //p' > "$OUT/build-id.txt"

    [ -n "${QEMU:-}" ] || { QEMU="$(tools/build-qemu.sh | tail -n 1)"; export QEMU; }
    log "building the Release sidecar"
    dotnet build "$ROOT/src/Spectrum.Camera.Cli" -c Release -nologo -v quiet >&2
    SIDECAR_DLL="$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
    INITRD="$(tests/e2e/build-initramfs.sh --kernel 6.1 --out "$OUT/initrd.img" --module "$KO" \
        --script "$HERE/guest-dkms.sh" | tail -n 1)"
    SOCK="$OUT/camera.sock"
    dotnet "$SIDECAR_DLL" serve --socket-path "$SOCK" --vm dkms-check --source test-pattern > "$OUT/sidecar.log" 2>&1 &
    SPID=$!
    trap 'kill $SPID 2>/dev/null || true' EXIT
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
    log "booting the 6.1 guest with the DKMS-built module ($ACCEL)"
    grc=0
    tests/e2e/run-guest.sh --kernel 6.1 --initrd "$INITRD" --out-dir "$OUT/guest" --socket "$SOCK" --accel "$ACCEL" \
        --mem 1G --timeout 600 > /dev/null 2> "$OUT/run-guest.log" || grc=$?
    echo "$grc" > "$OUT/run-guest.exit"
    for _ in $(seq 150); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.2; done
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    trap - EXIT
else
    SIDECAR_DLL="$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll"
fi
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "judging ($(cat "$OUT/wall-seconds") s so far)"

python3 - "$OUT" "$SIDECAR_DLL" <<'PY'
import json, os, re, subprocess, sys

out, sidecar = sys.argv[1], sys.argv[2]
root = os.path.join(out, "root")
checks = []


def read(*parts, default=""):
    try:
        with open(os.path.join(*parts), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def check(name, passed, detail):
    checks.append({"name": "dkms: " + name, "passed": bool(passed), "detail": detail})
    print(f"{'PASS' if passed else 'FAIL'}  dkms: {name}  ({detail})")


steps = {}
for line in read(root, "steps.txt").splitlines():
    name, rc, secs = line.split()
    steps[name] = (int(rc), int(secs))
kver = read(out, "kver.txt").strip()
deb = read(root, "deb-name.txt").strip()

rc, secs = steps.get("build", (-1, 0))
check("tools/build-dkms-deb.sh builds the package from a clean clone in a fresh Debian 12 root", rc == 0 and deb,
      f"exit {rc} in {secs} s: {deb or 'no package'}; fresh-root.sh exit {read(out, 'fresh-root.exit').strip()}")

rc, secs = steps.get("install", (-1, 0))
status = read(root, "dkms-status.txt").strip()
installed = re.search(rf"^spectrum-camera/\S+, {re.escape(kver)}, x86_64: installed", status, re.M)
check(f"apt installs it with linux-headers-{kver}; dkms status says installed for that kernel", rc == 0 and installed,
      f"apt exit {rc} in {secs} s; dkms status: {status or 'nothing'}")

make = read(root, "make.log")
warnings = [l.strip() for l in make.splitlines() if re.search(r"warning:|error:", l)]
check("DKMS's build of the module has no compiler warning", make and not warnings,
      f"make.log {len(make.splitlines())} lines; {warnings[:3] or 'no warnings'}")

vermagic = re.search(r"^vermagic:\s+(\S+)", read(root, "modinfo.txt"), re.M)
check("the module DKMS built is for the end-to-end guest's kernel (vermagic)", vermagic and vermagic.group(1) == kver,
      f"vermagic {vermagic.group(1) if vermagic else 'missing'}, guest kernel {kver}")

rc, _ = steps.get("lintian", (-1, 0))
lint = [l for l in read(root, "lintian.txt").splitlines() if l.startswith(("E:", "W:"))]
check("lintian reports no error for the package", rc == 0,
      f"exit {rc}; {len([l for l in lint if l.startswith('E:')])} errors, "
      f"{len([l for l in lint if l.startswith('W:')])} warnings: {lint[:3]}")

rc, _ = steps.get("remove", (-1, 0))
after = read(root, "dkms-status-after-remove.txt").strip()
left = read(root, "modules-after-remove.txt")
check("removing the package removes the module and the DKMS registration",
      rc == 0 and "spectrum-camera" not in after and "virtio_media_camera" not in left,
      f"apt remove exit {rc}; dkms status after: {after or 'nothing'}; "
      f"module files left: {'yes' if 'virtio_media_camera' in left else 'no'}")

g = os.path.join(out, "guest", "results")
mod = dict(l.split(" ", 1) for l in read(g, "module.txt").splitlines() if " " in l)
gsteps = dict(l.split() for l in read(g, "steps.txt").splitlines() if len(l.split()) == 2)
frames = {"frames": 0, "ok": False}
raw = os.path.join(g, "capture.raw")
if os.path.exists(raw):
    v = subprocess.run(["dotnet", sidecar, "verify-frames", "--format", "YUYV", "--size", "320x240", "--json", raw],
                       capture_output=True, text=True, check=False)
    try:
        frames = json.loads(v.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pass
want = read(out, "build-id.txt").strip()
check("the end-to-end 6.1 guest loads the DKMS-built module (same GNU build ID), binds the device and captures 10 "
      "verified frames",
      read(out, "run-guest.exit").strip() == "0" and want and mod.get("build-id") == want
      and mod.get("device", "none") != "none" and gsteps.get("info") == "0" and gsteps.get("capture") == "0"
      and frames.get("ok") and frames.get("frames") == 10,
      f"run-guest exit {read(out, 'run-guest.exit').strip() or 'not run'}; build ID {mod.get('build-id')} "
      f"(built {want or 'none'}); device {mod.get('device')}; v4l2-ctl --all {gsteps.get('info')}, capture "
      f"{gsteps.get('capture')}; {frames.get('frames', 0)} frames, {frames.get('verified', 0)} verified")

wall = int(read(out, "wall-seconds", default="0").strip() or 0)
with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"checks": checks}, f, indent=1)
with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
    json.dump({"kernel": kver, "package": deb, "wall_seconds": wall,
               "fresh_root_seconds": int(read(out, "fresh-root-seconds", default="0").strip() or 0),
               "steps": {k: {"exit": v[0], "seconds": v[1]} for k, v in steps.items()}}, f, indent=1)
failed = sum(1 for c in checks if not c["passed"])
print(f"dkms summary -- {len(checks) - failed} of {len(checks)} checks passed, wall {wall} s")
sys.exit(1 if failed else 0)
PY
