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

Runs all tests: the .NET unit and component suites, the end-to-end judges' own unit tests, a one-minute fuzz per parser and a short run of the
performance suite, then the end-to-end phases in QEMU guests (patched QEMU, Debian guest kernels, the guest driver,
v4l2-compliance, ffmpeg, GStreamer, the camera service with vivid, a hostile device, fault injection, Chromium,
Firefox and PipeWire), and last the field checks: tools/demo.sh in a fresh Debian 12 root, and the host package
built and installed in another.
Expensive downloads and builds are cached in \$SPECTRUM_CACHE (default ~/.cache/spectrum-camera). Results:
artifacts/test-results/ and each phase's artifacts/*/results.json.

  --dotnet-only   only build and run the .NET suites (for quick local runs; CI runs everything)
USAGE
}

DOTNET_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dotnet-only) DOTNET_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tools/test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing build and test packages"
tools/install-deps.sh

if ! command -v dotnet >/dev/null; then
  echo "tools/test.sh: the .NET 10 SDK (dotnet) is not on PATH; install it first (https://dot.net)." >&2
  exit 1
fi

RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS" "$ROOT/artifacts/bench/summary.json"
mkdir -p "$RESULTS"

step "building (Release, warnings are errors)"
dotnet build Spectrum.Camera.sln -c Release -warnaserror -nologo -v quiet

step "running the .NET test suites"
set +e
dotnet test Spectrum.Camera.sln -c Release --no-build --nologo \
  --logger "trx;LogFilePrefix=dotnet" --logger "console;verbosity=minimal" --results-directory "$RESULTS"
set -e

step "running the end-to-end judges' unit tests (on recorded artifacts)"
python3 tests/e2e/unit_tests.py --results "$RESULTS/e2e-judges.json" || true   # counted below
[ -f "$RESULTS/e2e-judges.json" ] ||
  echo '{"checks": [{"name": "e2e judges unit tests", "passed": false, "detail": "tests/e2e/unit_tests.py wrote no results"}]}' \
    > "$RESULTS/e2e-judges.json"

# A short coverage-guided fuzz of the three guest-facing parsers (docs/fuzzing.md), one check per target.
if [ "$DOTNET_ONLY" = 0 ] && [ -x tests/fuzz/run.sh ]; then
  step "fuzzing the vhost-user, descriptor-chain and virtio-media parsers (AFL++, about a minute each)"
  tests/fuzz/run.sh --results "$RESULTS/fuzz.json" || true   # checks in artifacts/test-results/fuzz.json, counted below
  [ -f "$RESULTS/fuzz.json" ] ||
    echo '{"checks": [{"name": "fuzz", "passed": false, "detail": "tests/fuzz/run.sh wrote no results"}]}' > "$RESULTS/fuzz.json"
fi

# The performance suite in its short form, to prove it runs and produces results (no thresholds in CI;
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

# The phases after the .NET suites, in order: a name, the command, and the results.json it must leave (its checks are
# counted below; a phase that writes none fails the run). Each runs even when one before it failed.
PHASES=(
  "the end-to-end suite in QEMU guests (run.sh: compliance, clients, reloads, reboots, camera permission)|tests/e2e/run.sh|artifacts/e2e/results.json"
  "the host-camera end-to-end test (vivid, camera service, two cameras) in a QEMU guest|tests/e2e/host-camera.sh|artifacts/e2e-host-camera/results.json"
  "the hostile-device end-to-end test (malformed answers and events, a stalled device) in a QEMU guest|tests/e2e/hostile.sh|artifacts/e2e-hostile/results.json"
  "the fault-injection end-to-end test (service kill -9, reboots, reloads, stop/cont, VMM exit)|tests/e2e/faults.sh|artifacts/e2e-faults/results.json"
  "the browser end-to-end test (Chromium, Firefox, PipeWire and WirePlumber in a Debian 12 guest)|tests/e2e/browser.sh|artifacts/e2e-browser/results.json"
  "the output-node end-to-end test (the guest driver on a camera VM's output device: compliance, Frames Wanted, ffmpeg/GStreamer/v4l2-ctl producers, the camera-VM agent) in a QEMU guest|tests/e2e/output-node.sh|artifacts/e2e-output-node/6.1/results.json"
  "the camera-VM end-to-end test (two QEMU guests: a camera VM's vivid through its output device to a consumer VM)|tests/e2e/camera-vm.sh|artifacts/e2e-camera-vm/results.json"
  # The field: the README's main command in a fresh Debian 12 root (it takes the patched QEMU the phases above built:
  # docs/packaging.md says what that leaves unproven), and the host package built, linted, installed and used in
  # another fresh root.
  "fresh Debian 12 root: tools/demo.sh installs everything it needs and passes (tests/packaging/fresh-root.sh)|tests/packaging/fresh-root.sh --qemu-from-host --results artifacts/fresh-root/results.json --collect artifacts/demo/contact-sheet.png --timeout 1800 -- tools/demo.sh|artifacts/fresh-root/results.json"
  "the host package in a fresh root (tests/packaging/deb-check.sh)|tests/packaging/deb-check.sh|artifacts/packaging/deb-check/results.json"
  "the guest DKMS package in a fresh root, its module loaded by the e2e guest (tests/packaging/dkms-check.sh)|tests/packaging/dkms-check.sh|artifacts/packaging-dkms/results.json"
)
expected=()
if [ "$DOTNET_ONLY" = 0 ]; then
  for phase in "${PHASES[@]}"; do
    IFS='|' read -r title command results <<<"$phase"
    rm -f "$ROOT/$results"
    expected+=("$results")
    step "running $title"
    # shellcheck disable=SC2086 # the command line is split on purpose
    $command || true
  done
fi

step "results"
shopt -s nullglob
files=("$RESULTS"/*.trx "$RESULTS/e2e-judges.json")
[ -f "$RESULTS/fuzz.json" ] && files+=("$RESULTS/fuzz.json")
[ -f "$RESULTS/bench.json" ] && files+=("$RESULTS/bench.json")
missing=""
for results in ${expected[@]+"${expected[@]}"}; do
  if [ -f "$ROOT/$results" ]; then files+=("$ROOT/$results"); else missing="${missing:+$missing, }$results"; fi
done
if [ -n "$missing" ]; then
  echo "tools/test.sh: these phases wrote no results: $missing" >&2
  python3 tools/count-results.py "${files[@]}" >/dev/null || true
  exit 1
fi
python3 tools/count-results.py "${files[@]}"
