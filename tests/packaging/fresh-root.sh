#!/usr/bin/env bash
# Runs a command in a clean clone of HEAD inside a freshly bootstrapped Debian 12 (bookworm, minbase) root: the
# project's check that its own scripts install every Debian package they need, as on a freshly installed machine.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$HERE/../.." && pwd)"
CACHE="${SPECTRUM_CACHE:-$HOME/.cache/spectrum-camera}"

usage() {
  cat <<'USAGE'
Usage: tests/packaging/fresh-root.sh [options] -- COMMAND [ARG...]

Runs COMMAND as root in /src, a clean clone of this repository's HEAD (uncommitted changes are not in it), inside a
copy of a Debian 12 minbase root (debootstrap --variant=minbase bookworm, with the main, updates and security
sources of a standard install, and the libraries a .NET SDK install brings: libicu72, libssl3, libstdc++6, zlib1g,
plus ca-certificates, git and tzdata). Shared with the host, read-only where they can be: the .NET SDK, the NuGet
package cache, the TLS certificates, and a download cache for .deb files (what apt installs is still decided and
installed by the project's scripts inside the root; only the downloading is saved). Everything else the command
needs must be installed by the project's own scripts.

  --results FILE       write FILE, a results.json with one check: COMMAND exited 0 (tools/count-results.py reads it)
  --name TEXT          that check's name (default: "fresh Debian 12 root: COMMAND exits 0")
  --log FILE           COMMAND's output (default: DIR-of-results/fresh-root.log, else artifacts/fresh-root/fresh-root.log)
  --qemu-from-host     give the root the host's cached patched QEMU binary (tools/build-qemu.sh on the host builds it
                       if needed) instead of letting the command build QEMU inside the root (6-12 minutes on 2 cores).
                       The root's tools/build-qemu.sh still installs QEMU's run-time packages itself.
  --no-dotnet          share neither the .NET SDK nor the NuGet cache (for checking what runs without them)
  --copy FILE          copy FILE into the root's /tmp/ before the command runs (repeatable)
  --collect PATH       after the command, copy /src/PATH out of the root next to the log (repeatable)
  --timeout SECONDS    stop COMMAND after this long (default 3000); a timeout fails the check
  --keep               keep the root (its path is printed) instead of deleting it
  --rebootstrap        bootstrap the base root again (it is cached in $SPECTRUM_CACHE/fresh-root/)

Needs root (chroot, mounts); installs debootstrap on the host if missing. Exit status: COMMAND's (124 on timeout).
USAGE
}

RESULTS="" NAME="" LOG="" QEMU_FROM_HOST=0 DOTNET=1 KEEP=0 REBOOTSTRAP=0 TIMEOUT=3000 COPIES=() COLLECT=()
while [ $# -gt 0 ]; do
  case "$1" in
    --results) RESULTS="${2:?}"; shift ;;
    --name) NAME="${2:?}"; shift ;;
    --log) LOG="${2:?}"; shift ;;
    --qemu-from-host) QEMU_FROM_HOST=1 ;;
    --no-dotnet) DOTNET=0 ;;
    --copy) COPIES+=("${2:?}"); shift ;;
    --collect) COLLECT+=("${2:?}"); shift ;;
    --timeout) TIMEOUT="${2:?}"; shift ;;
    --keep) KEEP=1 ;;
    --rebootstrap) REBOOTSTRAP=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "tests/packaging/fresh-root.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "tests/packaging/fresh-root.sh: needs root (chroot and bind mounts)" >&2; exit 2; }
log() { printf '[fresh-root] %s\n' "$*" >&2; }
NAME="${NAME:-fresh Debian 12 root: '$*' exits 0}"
if [ -z "$LOG" ]; then
  if [ -n "$RESULTS" ]; then LOG="$(dirname "$RESULTS")/fresh-root.log"; else LOG="$ROOT_DIR/artifacts/fresh-root/fresh-root.log"; fi
fi
mkdir -p "$(dirname "$LOG")"
LOG="$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")"
OUTDIR="$(dirname "$LOG")"
[ -z "$RESULTS" ] || { mkdir -p "$(dirname "$RESULTS")"; rm -f "$RESULTS"; }
START=$(date +%s)

write_results() {  # PASSED DETAIL
  [ -n "$RESULTS" ] || return 0
  python3 -c 'import json, sys; json.dump({"checks": [{"name": sys.argv[1], "passed": sys.argv[2] == "true", "detail": sys.argv[3]}]}, open(sys.argv[4], "w"), indent=1)' \
    "$NAME" "$1" "$2" "$RESULTS"
}

# ---- the base root, bootstrapped once ---------------------------------------------------------------------------
BASE="$CACHE/fresh-root/bookworm-minbase"
INCLUDE=ca-certificates,git,libicu72,libssl3,libstdc++6,zlib1g,tzdata
if [ "$REBOOTSTRAP" = 1 ] || [ ! -x "$BASE/usr/bin/apt-get" ] || [ "$(cat "$BASE.include" 2>/dev/null)" != "$INCLUDE" ]; then
  "$ROOT_DIR/tools/install-deps.sh" debootstrap python3
  log "bootstrapping a minbase bookworm root into $BASE (once; about 2 minutes)"
  rm -rf "$BASE.tmp" "$BASE"
  mkdir -p "$(dirname "$BASE")"
  debootstrap --variant=minbase --include="$INCLUDE" bookworm "$BASE.tmp" http://deb.debian.org/debian > "$BASE.log" 2>&1 ||
    { tail -n 20 "$BASE.log" >&2; write_results false "debootstrap failed (see $BASE.log)"; exit 1; }
  cat > "$BASE.tmp/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  mv "$BASE.tmp" "$BASE"
  echo "$INCLUDE" > "$BASE.include"
fi
"$ROOT_DIR/tools/install-deps.sh" python3

# ---- this run's root ----------------------------------------------------------------------------------------------
QEMU_DIR=""
if [ "$QEMU_FROM_HOST" = 1 ]; then
  log "the host's patched QEMU (tools/build-qemu.sh on the host)"
  QEMU_DIR="$(dirname "$("$ROOT_DIR/tools/build-qemu.sh" | tail -n 1)")"
fi
DOTNET_DIR=""
[ "$DOTNET" = 0 ] || DOTNET_DIR="$(dirname "$(readlink -f "$(command -v dotnet)")")"
ROOT="$(mktemp -d /var/tmp/spectrum-fresh-root.XXXXXX)"
MOUNTS=()
bind() {  # HOST_PATH ROOT_PATH [ro]
  mkdir -p "$ROOT$2"
  mount --bind "$1" "$ROOT$2"
  MOUNTS+=("$ROOT$2")
  [ "${3:-}" != ro ] || mount -o remount,bind,ro "$ROOT$2"
}
cleanup() {
  local i pid
  # Whatever the command left running inside the root (a build server, a sidecar) is ended first, by its pid.
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill "$pid" 2>/dev/null || true
  done
  for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then log "kept $ROOT"; return; fi
  # Never delete through a mount that is still there (the NuGet cache, /dev, ...).
  if grep -q " $ROOT/" /proc/self/mounts; then log "mounts remain under $ROOT; not deleting it"; return; fi
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
cp -a "$BASE/." "$ROOT/"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
git -C "$ROOT_DIR" rev-parse HEAD > "$OUTDIR/fresh-root.commit"
git clone -q "$ROOT_DIR" "$ROOT/src"
mkdir -p "$ROOT/proc"; mount -t proc proc "$ROOT/proc"; MOUNTS+=("$ROOT/proc")
# Slaves: on a host whose mounts are shared (systemd's default), unmounting the copies must not unmount the host's
# /dev/pts or /sys submounts through propagation.
for fs in sys dev; do
  mkdir -p "$ROOT/$fs"; mount --rbind "/$fs" "$ROOT/$fs"; mount --make-rslave "$ROOT/$fs"; MOUNTS+=("$ROOT/$fs")
done
if [ "$DOTNET" = 1 ]; then
  bind "$DOTNET_DIR" "$DOTNET_DIR" ro
  ln -sf "$DOTNET_DIR/dotnet" "$ROOT/usr/bin/dotnet"
  mkdir -p "$HOME/.nuget"
  bind "$HOME/.nuget" /root/.nuget
fi
bind /etc/ssl/certs /etc/ssl/certs ro
mkdir -p "$CACHE/fresh-root/apt-archives/partial"
bind "$CACHE/fresh-root/apt-archives" /var/cache/apt/archives
[ -z "$QEMU_DIR" ] || bind "$QEMU_DIR" "/root/.cache/spectrum-camera/qemu/$(basename "$QEMU_DIR")" ro
for f in ${COPIES[@]+"${COPIES[@]}"}; do cp "$f" "$ROOT/tmp/"; done

log "running in a fresh bookworm root ($ROOT): $* (output: $LOG)"
set +e
timeout --kill-after=30 "$TIMEOUT" chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_CERT_REVOCATION_MODE=offline \
  /bin/bash -c 'cd /src && "$@"' fresh-root "$@" > "$LOG" 2>&1 < /dev/null
rc=$?
set -e
SECONDS_TAKEN=$(( $(date +%s) - START ))
for p in ${COLLECT[@]+"${COLLECT[@]}"}; do
  [ -e "$ROOT/src/$p" ] && cp -r "$ROOT/src/$p" "$OUTDIR/" || log "nothing at /src/$p to collect"
done
tail -n 25 "$LOG" | sed 's/^/  | /' >&2
how="shared: certificates, .deb downloads"
[ "$DOTNET" = 0 ] || how="$how, .NET SDK, NuGet cache"
[ "$QEMU_FROM_HOST" = 0 ] || how="$how, the host's QEMU binary"
if [ "$rc" = 0 ]; then
  detail="exit 0 after $SECONDS_TAKEN s ($how); commit $(cut -c1-12 "$OUTDIR/fresh-root.commit"); log $LOG"
  write_results true "$detail"
else
  [ "$rc" = 124 ] && what="timed out after $TIMEOUT s" || what="exit $rc after $SECONDS_TAKEN s"
  detail="$what ($how); last line: $(tail -n 1 "$LOG" | cut -c1-200); log $LOG"
  write_results false "$detail"
fi
log "$detail"
exit "$rc"
