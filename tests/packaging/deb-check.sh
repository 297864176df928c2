#!/usr/bin/env bash
# The host package's check (.ci/run runs it): builds spectrum-camera_VERSION_amd64.deb with tools/build-deb.sh,
# installs it in a fresh Debian 12 root (tests/packaging/fresh-root.sh) and checks it there
# (tests/packaging/deb-installed.sh); lintian judges the package on the host. Writes
# artifacts/packaging/deb-check/results.json, one check per line item, and exits non-zero if any failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/artifacts/packaging/deb-check"

usage() {
  cat <<'USAGE'
Usage: tests/packaging/deb-check.sh [--deb FILE]

  --deb FILE   check this package instead of building one with tools/build-deb.sh

Checks: the package builds; lintian reports no errors; in a fresh Debian 12 root apt installs it with its
dependencies, 'spectrum-camera --help' and every command's --help work, the man pages are there,
'systemd-analyze verify' accepts the three units, the service user and directories exist, the program runs a camera
service and ctl, and purge removes it. Output: artifacts/packaging/deb-check/ (results.json, logs, lintian.txt).
USAGE
}

DEB=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB="${2:?}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tests/packaging/deb-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[deb-check] %s\n' "$*" >&2; }
rm -rf "$OUT"; mkdir -p "$OUT"
START=$(date +%s)
"$ROOT/tools/install-deps.sh" python3 lintian
CHECKS="$OUT/checks.txt"
: > "$CHECKS"

if [ -z "$DEB" ]; then
  log "building the package (tools/build-deb.sh)"
  t=$(date +%s)
  if DEB="$("$ROOT/tools/build-deb.sh" 2> "$OUT/build-deb.log" | tail -n 1)" && [ -f "$DEB" ]; then
    echo "CHECK PASS tools/build-deb.sh builds spectrum-camera_VERSION_amd64.deb | $(basename "$DEB"), $(du -h "$DEB" | cut -f1), $(( $(date +%s) - t )) s" >> "$CHECKS"
  else
    echo "CHECK FAIL tools/build-deb.sh builds spectrum-camera_VERSION_amd64.deb | $(tail -n 1 "$OUT/build-deb.log")" >> "$CHECKS"
    DEB=""
  fi
fi

if [ -n "$DEB" ]; then
  log "lintian $(basename "$DEB")"
  lintian --tag-display-limit 0 "$DEB" > "$OUT/lintian.txt" 2>&1 || true
  errors="$(grep -c '^E: ' "$OUT/lintian.txt" || true)"
  warnings="$(grep -c '^W: ' "$OUT/lintian.txt" || true)"
  [ "$errors" = 0 ] && r=PASS || r=FAIL
  echo "CHECK $r lintian reports no errors (one override, the .NET runtime's own zlib inside the program) | $errors errors, $warnings warnings: $(grep '^[EW]: ' "$OUT/lintian.txt" | cut -d' ' -f3 | sort | uniq -c | tr -s ' ' | tr '\n' ',' | cut -c1-300)" >> "$CHECKS"

  log "installing it in a fresh Debian 12 root"
  "$HERE/fresh-root.sh" --no-dotnet --log "$OUT/fresh-root.log" --copy "$DEB" --timeout 900 \
    -- tests/packaging/deb-installed.sh "/tmp/$(basename "$DEB")" || true
  grep '^CHECK ' "$OUT/fresh-root.log" >> "$CHECKS" ||
    echo "CHECK FAIL the package's checks ran in a fresh root | no results: $(tail -n 1 "$OUT/fresh-root.log")" >> "$CHECKS"
fi

python3 - "$CHECKS" "$OUT/results.json" <<'PY'
import json, sys
checks = []
for line in open(sys.argv[1], encoding="utf-8"):
    verdict, _, rest = line.rstrip("\n")[len("CHECK "):].partition(" ")
    name, _, detail = rest.partition(" | ")
    checks.append({"name": "deb: " + name, "passed": verdict == "PASS", "detail": detail})
    print(f"{verdict}  deb: {name}  ({detail})")
json.dump({"checks": checks}, open(sys.argv[2], "w"), indent=1)
PY
echo "$(( $(date +%s) - START ))" > "$OUT/wall-seconds"
log "done in $(cat "$OUT/wall-seconds") s: $OUT/results.json"
! grep -q '^CHECK FAIL' "$CHECKS"
