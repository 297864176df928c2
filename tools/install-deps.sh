#!/usr/bin/env bash
# Installs the Debian packages the build and the .NET tests need (gcc and libc headers for the native layout test,
# python3 for result counting, afl++ for tests/fuzz/run.sh). Idempotent: does nothing when they are present.
set -euo pipefail
[ "${1:-}" = "--help" ] && { echo "Usage: tools/install-deps.sh  (installs gcc, libc6-dev, make, python3, ffmpeg, libturbojpeg0, afl++ if missing)"; exit 0; }
need=()
for pkg in gcc libc6-dev make python3 ffmpeg libturbojpeg0 afl++; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=1200 install -y -qq "${need[@]}"
fi
