#!/usr/bin/env bash
# Coverage-guided fuzzing of the three guest-facing parsers with AFL++ (docs/fuzzing.md): vhost-user messages,
# descriptor chains, virtio-media commands. Builds the harness (tests/Spectrum.Camera.Fuzz) in Release, adds AFL edge
# coverage to the parser assemblies, replays the committed corpus, then runs afl-fuzz on each target from its corpus
# (tests/fuzz/corpus/TARGET). Fails if any input crashes (an exception escapes the parser or an invariant check) or
# hangs. Prints executions per target and in total, and writes one check per target to a results file that
# tools/count-results.py counts.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
Usage: tests/fuzz/run.sh [--minutes-per-target N | --seconds-per-target N] [--target T]... [--jobs J]
                         [--out DIR] [--results FILE] [--self-test]

  --minutes-per-target N   afl-fuzz time per target (default 1: the short run CI does)
  --seconds-per-target N   the same in seconds
  --target T               vhost-user, chains or media (repeatable; default all three)
  --jobs J                 targets fuzzed at once (default 1; one afl-fuzz per core at most)
  --out DIR                work and output directory (default artifacts/fuzz); findings land in DIR/findings/
  --results FILE           results JSON (default DIR/results.json)
  --self-test              instead of fuzzing, check that a crashing and a hanging input are both reported
USAGE
}

SECONDS_PER_TARGET=60
TARGETS=()
JOBS=1
OUT="$ROOT/artifacts/fuzz"
RESULTS=""
SELF_TEST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes-per-target) SECONDS_PER_TARGET=$(( $2 * 60 )); shift 2 ;;
    --seconds-per-target) SECONDS_PER_TARGET=$2; shift 2 ;;
    --target) TARGETS+=("$2"); shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --results) RESULTS=$(realpath -m "$2"); shift 2 ;;
    --self-test) SELF_TEST=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/fuzz/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(vhost-user chains media)
RESULTS=${RESULTS:-$OUT/results.json}
for t in "${TARGETS[@]}"; do
  case "$t" in vhost-user|chains|media) ;; *) echo "tests/fuzz/run.sh: unknown target '$t'" >&2; exit 2 ;; esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v afl-fuzz >/dev/null; then
  step "installing afl++ (Debian package)"
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null; }
  else
    echo "tests/fuzz/run.sh: afl-fuzz is missing; run tools/install-deps.sh (apt-get install afl++)" >&2
    exit 1
  fi
fi

rm -rf "$OUT"
mkdir -p "$OUT/findings"
BIN="$OUT/bin"

step "building the fuzz harness (Release) and instrumenting the parser assemblies"
dotnet build tests/Spectrum.Camera.Fuzz/Spectrum.Camera.Fuzz.csproj -c Release -warnaserror -nologo -v quiet \
  -p:ArtifactsPath="$OUT/build" >&2
cp -r "$OUT/build/bin/Spectrum.Camera.Fuzz/release" "$BIN"
HARNESS=(dotnet "$BIN/Spectrum.Camera.Fuzz.dll")
"${HARNESS[@]}" instrument "$BIN" >&2

# afl-fuzz runs 'dotnet', which carries no AFL marker: skip that check. The harness answers the forkserver protocol
# itself (persistent, no fork) and watches each input with its own 2 s hang limit (saved under hangs/); afl-fuzz's
# own limit (-t) is longer so that the harness's watchdog, which keeps the input, fires first.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
  AFL_MAP_SIZE=65536 AFL_FORKSRV_INIT_TMOUT=60000 AFL_FAST_CAL=1 AFL_NO_WARN_INSTABILITY=1
export SPECTRUM_FUZZ_HANG_MS=2000 SPECTRUM_FUZZ_HANG_DIR="$OUT/hangs"
AFL_TIMEOUT_MS=5000
DOTNET=$(command -v dotnet)

# Runs afl-fuzz on target $1 from corpus dir $2 for $3 seconds into $OUT/out-$1; the exit code lands in $OUT/rc-$1.
fuzz_target() {
  local t=$1 corpus=$2 seconds=$3 rc=0
  nice -n 10 afl-fuzz -i "$corpus" -o "$OUT/out-$t" -t "$AFL_TIMEOUT_MS" -m none -V "$seconds" \
    -- "$DOTNET" "$BIN/Spectrum.Camera.Fuzz.dll" fuzz "$t" @@ > "$OUT/afl-$t.log" 2>&1 || rc=$?
  echo "$rc" > "$OUT/rc-$t"
}

stat_of() { sed -n "s/^$2 *: *//p" "$OUT/out-$1/default/fuzzer_stats" 2>/dev/null | head -1; }
count_files() { { find "$1" -maxdepth 1 -type f ! -name 'README.txt' 2>/dev/null || true; } | wc -l; }

if [ "$SELF_TEST" = 1 ]; then
  step "self-test: a crashing and a hanging input must both be reported"
  export SPECTRUM_FUZZ_SELF_TEST=1
  fail=0
  for kind in crash hang; do
    seeds="$OUT/self-test-$kind"
    mkdir -p "$seeds"
    cp tests/fuzz/corpus/chains/* "$seeds/"
    printf '!%s' "$kind" > "$seeds/zz-$kind"
    AFL_IGNORE_SEED_PROBLEMS=1 AFL_SKIP_CRASHES=1 fuzz_target chains "$seeds" 20 || true
    crashes=$(count_files "$OUT/out-chains/default/crashes")
    hangs=$(count_files "$OUT/hangs")
    echo "self-test $kind: afl-fuzz exit $(cat "$OUT/rc-chains"), $crashes crashes, $hangs hangs saved" >&2
    if [ "$kind" = crash ] && [ "$crashes" = 0 ] && [ "$(cat "$OUT/rc-chains")" = 0 ]; then fail=1; fi
    if [ "$kind" = hang ] && [ "$hangs" = 0 ]; then fail=1; fi
    rm -rf "$OUT/out-chains" "$OUT/hangs"
  done
  [ "$fail" = 0 ] && echo "self-test passed" || echo "self-test FAILED"
  exit "$fail"
fi

step "replaying the committed corpus on the instrumented build"
replay_failed=()
for t in "${TARGETS[@]}"; do
  "${HARNESS[@]}" replay "$t" "tests/fuzz/corpus/$t" >&2 || replay_failed+=("$t")
done

step "fuzzing ${TARGETS[*]} for ${SECONDS_PER_TARGET} s each, ${JOBS} at a time"
running=0
for t in "${TARGETS[@]}"; do
  fuzz_target "$t" "tests/fuzz/corpus/$t" "$SECONDS_PER_TARGET" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

step "results"
total=0
failed=0
checks=()
for t in "${TARGETS[@]}"; do
  rc=$(cat "$OUT/rc-$t" 2>/dev/null || echo 1)
  execs=$(stat_of "$t" execs_done); execs=${execs:-0}
  rate=$(stat_of "$t" execs_per_sec); rate=${rate:-0}
  paths=$(stat_of "$t" corpus_count); paths=${paths:-0}
  cover=$(stat_of "$t" bitmap_cvg); cover=${cover:-0%}
  stability=$(stat_of "$t" stability); stability=${stability:-?}
  crashes=$(count_files "$OUT/out-$t/default/crashes")
  hangs=$(( $(count_files "$OUT/out-$t/default/hangs") + $({ find "$OUT/hangs" -maxdepth 1 -name "hang-$t-*" 2>/dev/null || true; } | wc -l) ))
  total=$((total + execs))
  for f in "$OUT/out-$t/default/crashes"/id* "$OUT/out-$t/default/hangs"/id* "$OUT/hangs"/hang-"$t"-*; do
    [ -f "$f" ] && cp "$f" "$OUT/findings/$t-$(basename "$f" | tr ':,' '__')"
  done
  detail="$execs execs ($rate/s), $paths paths, map $cover, stability $stability, $crashes crashes, $hangs hangs, afl-fuzz exit $rc"
  ok=true
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ] || [ "$rc" != 0 ] || [ "$execs" = 0 ]; then ok=false; failed=$((failed + 1)); fi
  for r in "${replay_failed[@]}"; do
    if [ "$r" = "$t" ]; then ok=false; failed=$((failed + 1)); detail="corpus replay found a crash; $detail"; fi
  done
  printf 'fuzz %-10s %s%s\n' "$t:" "$detail" "$([ "$ok" = true ] || echo '  FAILED')"
  checks+=("{\"name\": \"fuzz $t\", \"passed\": $ok, \"detail\": \"$detail\"}")
done
echo "fuzz total: $total executions over ${#TARGETS[@]} targets in ${SECONDS_PER_TARGET} s each"
mkdir -p "$(dirname "$RESULTS")"
( IFS=,; printf '{"checks": [%s]}\n' "${checks[*]}" ) > "$RESULTS"
if [ "$failed" != 0 ]; then
  echo "fuzz: findings in $OUT/findings (replay one: dotnet $BIN/Spectrum.Camera.Fuzz.dll replay TARGET FILE)" >&2
  exit 1
fi
