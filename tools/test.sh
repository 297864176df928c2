#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what it needs, builds in Release with warnings as errors,
# runs every .NET suite, then the end-to-end tests in real QEMU guests, and ends with one line "N passed, N failed"
# counted from all suites together. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export SPECTRUM_CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
Usage: tools/test.sh [--dotnet-only] [--help]

Runs all tests: the .NET unit and component suites, then the end-to-end suite (patched QEMU, Debian guest
kernels, guest driver, v4l2-compliance, ffmpeg, GStreamer), the camera-permission phase, the host-camera end-to-end
test (vivid in a QEMU guest: HostCamera, the camera service, sidecars as unprivileged uids, the test frontend), the
hostile-device and fault-injection phases, Chromium, Firefox and PipeWire in a Debian guest, a one-minute fuzz per
parser and a short run of the performance suite. Expensive downloads and builds are cached in
\$SPECTRUM_CACHE (default ~/.cache/spectrum-camera). Results: artifacts/test-results/ and artifacts/e2e*/.

  --dotnet-only   skip the end-to-end suite (for quick local runs; CI runs everything)
USAGE
}

DOTNET_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --dotnet-only) DOTNET_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tools/test.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing build and test packages"
tools/install-deps.sh

if ! command -v dotnet >/dev/null; then
  echo "tools/test.sh: the .NET 10 SDK (dotnet) is not on PATH; install it first (https://dot.net)." >&2
  exit 1
fi

RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS" "$ROOT/artifacts/bench/summary.json" "$ROOT/artifacts/e2e/results.json" "$ROOT/artifacts/e2e-host-camera/results.json"
rm -f "$ROOT/artifacts/e2e-hostile/results.json" "$ROOT/artifacts/e2e-faults/results.json" "$ROOT/artifacts/e2e-browser/results.json"
mkdir -p "$RESULTS"

step "building (Release, warnings are errors)"
dotnet build Spectrum.Camera.sln -c Release -warnaserror -nologo -v quiet

step "running the .NET test suites"
set +e
dotnet test Spectrum.Camera.sln -c Release --no-build --nologo \
  --logger "trx;LogFilePrefix=dotnet" --logger "console;verbosity=minimal" --results-directory "$RESULTS"
set -e

# Issue 8: a short coverage-guided fuzz of the three guest-facing parsers (docs/fuzzing.md), one check per target.
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/fuzz/run.sh ]; then
  step "fuzzing the vhost-user, descriptor-chain and virtio-media parsers (AFL++, about a minute each)"
  tests/fuzz/run.sh --results "$RESULTS/fuzz.json" || true   # checks in artifacts/test-results/fuzz.json, counted below
  [ -f "$RESULTS/fuzz.json" ] ||
    echo '{"checks": [{"name": "fuzz", "passed": false, "detail": "tests/fuzz/run.sh wrote no results"}]}' > "$RESULTS/fuzz.json"
fi

# Issue 7: the performance suite in its short form, to prove it runs and produces results (no thresholds in CI;
# figures come from a full `bench/run.sh` on a quiet machine, docs/performance.md).
if [ "$DOTNET_ONLY" = 0 ] && [ -x bench/run.sh ]; then
  step "running the performance suite once, short (bench/run.sh --quick; figures in artifacts/bench/)"
  if bench/run.sh --quick >"$RESULTS/bench.log" 2>&1 && [ -s "$ROOT/artifacts/bench/summary.json" ]; then
    bench_ok=true
  else
    bench_ok=false
    tail -20 "$RESULTS/bench.log" >&2
  fi
  printf '{"checks": [{"name": "bench --quick ran and wrote artifacts/bench/summary.json", "passed": %s}]}\n' "$bench_ok" \
    >"$RESULTS/bench.json"
fi

if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/run.sh ]; then
  step "running the end-to-end suite in QEMU guests"
  tests/e2e/run.sh || true   # its checks land in artifacts/e2e/results.json and are counted below
fi

if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/host-camera.sh ]; then
  step "running the host-camera end-to-end test (vivid, camera service) in a QEMU guest"
  tests/e2e/host-camera.sh || true   # its checks land in artifacts/e2e-host-camera/results.json, counted below
fi

# Issue 8: the guest driver against a hostile device, and fault injection end to end (docs/e2e-infrastructure.md).
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/hostile.sh ]; then
  step "running the hostile-device end-to-end test (malformed answers and events) in a QEMU guest"
  tests/e2e/hostile.sh || true   # checks in artifacts/e2e-hostile/results.json, counted below
fi

if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/faults.sh ]; then
  step "running the fault-injection end-to-end test (service kill -9, reboots, reloads, stop/cont, VMM exit)"
  tests/e2e/faults.sh || true    # checks in artifacts/e2e-faults/results.json, counted below
fi

# Issue 18: real browsers and PipeWire reading the camera in a Debian guest (docs/e2e-infrastructure.md).
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/browser.sh ]; then
  step "running the browser end-to-end test (Chromium, Firefox, PipeWire) in a QEMU guest"
  tests/e2e/browser.sh || true   # checks in artifacts/e2e-browser/results.json, counted below
fi

step "results"
shopt -s nullglob
files=("$RESULTS"/*.trx)
[ -f "$RESULTS/fuzz.json" ] && files+=("$RESULTS/fuzz.json")
[ -f "$RESULTS/bench.json" ] && files+=("$RESULTS/bench.json")
[ -f "$ROOT/artifacts/e2e/results.json" ] && files+=("$ROOT/artifacts/e2e/results.json")
[ -f "$ROOT/artifacts/e2e-host-camera/results.json" ] && files+=("$ROOT/artifacts/e2e-host-camera/results.json")
missing=""
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/run.sh ] && [ ! -f "$ROOT/artifacts/e2e/results.json" ]; then
  missing="the end-to-end suite"
fi
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/e2e/host-camera.sh ] && [ ! -f "$ROOT/artifacts/e2e-host-camera/results.json" ]; then
  missing="${missing:+$missing and }the host-camera end-to-end test"
fi
for phase in hostile faults browser; do
  if [ -f "$ROOT/artifacts/e2e-$phase/results.json" ]; then
    files+=("$ROOT/artifacts/e2e-$phase/results.json")
  elif [ "$DOTNET_ONLY" = 0 ] && [ -x "tests/e2e/$phase.sh" ]; then
    missing="${missing:+$missing and }the $phase end-to-end test"
  fi
done
if [ -n "$missing" ]; then
  echo "tools/test.sh: $missing wrote no results" >&2
  python3 tools/count-results.py "${files[@]}" >/dev/null || true
  exit 1
fi
python3 tools/count-results.py "${files[@]}"
