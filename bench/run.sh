#!/usr/bin/env bash
# The performance suite (docs/performance.md): builds in Release, runs the BenchmarkDotNet suites (frame
# delivery through the real device, allocation, conversions against libswscale and libjpeg-turbo, command latency),
# the CPU-per-sidecar measurement and the whole-system figures (camera service + sidecars + guests, and a camera VM's
# producer sidecar), writes artifacts/bench/summary.json and prints a table. No thresholds: the summary says which
# targets were met, the exit status only whether everything ran and produced results.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
Usage: bench/run.sh [--quick] [--only SUITES] [--help] [-- BENCH-ARGS...]

Runs the performance suite and writes artifacts/bench/summary.json (one metric per line), BenchmarkDotNet's tables
in artifacts/bench/bdn/results/, and prints a table. 12-18 minutes in full; --quick (2-4 minutes, what CI should
run) uses short BenchmarkDotNet jobs, one sidecar for 3 s and two VMs in the whole-system scenarios, to prove the
suite runs, not for figures.

  --quick         short jobs
  --only SUITES   comma-separated subset of frames,alloc,convert,latency,cpu,system (alloc uses frames' memcpy
                  figure); also libc, not in the full run: Tmds.LibC's bindings against [LibraryImport] (README, Packages)
  BENCH-ARGS      passed to the benchmark program: --cpu-sidecars N, --cpu-seconds S (also the whole-system window),
                  --system-vms N (the test-pattern whole-system scenario, default 8), --system-scenarios LIST
                  (comma-separated subset of mjpeg,vms,camera-vm, default all: the MJPEG camera, the test-pattern
                  camera to N VMs, the camera VM's producer path)
USAGE
}

# The command as given, for the summary (a run it records can be repeated as written).
COMMAND="bench/run.sh${*:+ $*}"
ARGS=()
ALL="frames,alloc,convert,latency,cpu,system"
SUITES="$ALL"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ARGS+=(--quick) ;;
    --only) SUITES="${2:?--only needs a list}"; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ARGS+=("$@"); break ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing packages (ffmpeg for test frames and libswscale, libturbojpeg0)"
tools/install-deps.sh

step "building the benchmarks and the sidecar (Release)"
dotnet build bench/Spectrum.Camera.Bench/Spectrum.Camera.Bench.csproj -c Release -warnaserror -nologo -v quiet

OUT="$ROOT/artifacts/bench"
rm -rf "$OUT"
mkdir -p "$OUT"

# The build machines are shared (other builds and tests run alongside): as root, the suite takes precedence on the
# CPUs so that other processes' bursts disturb it less. Caches and memory bandwidth stay shared; see
# docs/performance.md for how the figures guard against that (interleaved pairs, recorded load).
PRIORITY=()
if [ "$(id -u)" = 0 ]; then PRIORITY=(nice -n -15); fi

step "running: $SUITES"
set +e
SPECTRUM_BENCH_COMMAND="$COMMAND" \
  "${PRIORITY[@]}" dotnet artifacts/build/bin/Spectrum.Camera.Bench/release/spectrum-camera-bench.dll \
  --only "$SUITES" --out "$OUT" \
  --sidecar "$ROOT/artifacts/build/bin/Spectrum.Camera.Cli/release/spectrum-camera.dll" "${ARGS[@]}"
rc=$?
set -e

# BenchmarkDotNet can finish without measuring anything (a Debug build, a validation error) and still exit 0; the
# program checks its summaries, and this checks that every suite's results table is on disk.
expected=()
case ",$SUITES," in *,frames,*) expected+=(Device.FrameDeliveryBenchmarks) ;; esac
case ",$SUITES," in *,convert,*) expected+=(Imaging.ConversionBenchmarks Imaging.MjpegBenchmarks) ;; esac
case ",$SUITES," in *,latency,*) expected+=(Device.CommandLatencyBenchmarks) ;; esac
for name in "${expected[@]}"; do
  table="$OUT/bdn/results/Spectrum.Camera.Bench.$name-report-github.md"
  if ! grep -q '^| ' "$table" 2>/dev/null; then
    echo "bench/run.sh: BenchmarkDotNet produced no results table for $name ($table)" >&2
    rc=1
  fi
done
if [ ! -s "$OUT/summary.json" ]; then
  echo "bench/run.sh: no $OUT/summary.json" >&2
  rc=1
fi
exit $rc
