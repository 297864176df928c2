#!/usr/bin/env bash
# Installs Debian packages the project's scripts need, so that a freshly installed Debian 12 with the .NET SDK runs
# the README's commands. With no arguments: what the build, the .NET tests, the fuzzing and the end-to-end scripts
# need before they install their own extras. With package names: only those (the other scripts call it so for what
# they use themselves). Idempotent: does nothing when everything is present; `apt-get update` runs once, only when
# something is missing.
set -euo pipefail

# gcc, libc6-dev, make: the native layout test and the guest driver; python3: result counting and the e2e judges;
# ffmpeg: imaging tests and the demo's PNG; libturbojpeg0: MJPEG decoding; afl++: tests/fuzz/run.sh;
# kmod: depmod and modinfo for the guest kernels' module trees (tools/fetch-guest-kernel.sh, the initramfs).
DEFAULT=(gcc libc6-dev make python3 ffmpeg libturbojpeg0 afl++ kmod)

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  cat <<USAGE
Usage: tools/install-deps.sh [PACKAGE...]

Installs the Debian packages that are missing: with no arguments the project's base set
(${DEFAULT[*]}), otherwise the packages named. Runs apt-get as root, or through sudo.
USAGE
  exit 0
fi

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${DEFAULT[@]}")
need=()
for pkg in "${wanted[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] || need+=("$pkg")
done
[ ${#need[@]} -gt 0 ] || exit 0

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "[install-deps] installing ${need[*]}" >&2
# apt's progress goes to a log, shown only if something fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq &&
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=1200 install -y -qq "${need[@]}"; } > "$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "[install-deps] apt-get could not install ${need[*]} (output above)" >&2
  exit 1
fi
