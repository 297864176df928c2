#!/usr/bin/env bash
# Installs the Debian packages the build and the .NET tests need (gcc and libc headers for the native layout test,
# python3 for result counting, afl++ for tests/fuzz/run.sh; tmux, xvfb, dbus and dunst >= 1.11 from
# bookworm-backports for the ctl prompt and notify tests). Idempotent: does nothing when they are present.
set -euo pipefail
[ "${1:-}" = "--help" ] && { echo "Usage: tools/install-deps.sh  (installs gcc, libc6-dev, make, python3, ffmpeg, libturbojpeg0, afl++, tmux, xvfb, dbus, dunst if missing)"; exit 0; }
need=()
for pkg in gcc libc6-dev make python3 ffmpeg libturbojpeg0 afl++ tmux xvfb dbus-daemon; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=1200 install -y -qq "${need[@]}"
fi
# The notify tests click a notification's action through dunst's context menu (its dmenu setting), which needs dunst
# 1.11 (bookworm-backports; bookworm has 1.9). Backports is enabled the way tools/build-qemu.sh does it.
if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' dunst 2>/dev/null || echo 0)" ge 1.11; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources > /dev/null <<'EOF'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=1200 install -y -qq -t bookworm-backports dunst
fi
